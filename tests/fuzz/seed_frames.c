/* seed_frames.c — writes fuzz seeds for fuzz_decode from capture files: one file per frame,
 * holding the link-type selector byte, a probe byte and the frame bytes.
 * usage: seed_frames OUTDIR MAX_PER_FILE CAPTURE... */
#define _DEFAULT_SOURCE 1 /* u_char and friends in pcap.h */
#include <pcap/pcap.h>
#include <stdio.h>
#include <stdlib.h>

static const int linktypes[] = { 1, 0, 9, 12, 50, 101, 108, 113, 228, 229, 276 };

int main(int argc, char **argv)
{
    if (argc < 4)
        return 2;
    int max = atoi(argv[2]);
    unsigned long written = 0;
    for (int i = 3; i < argc; i++) {
        char err[PCAP_ERRBUF_SIZE];
        pcap_t *p = pcap_open_offline(argv[i], err);
        if (!p)
            continue;
        int lt = pcap_datalink(p), sel = -1;
        for (int k = 0; k < (int)(sizeof(linktypes) / sizeof(linktypes[0])); k++)
            if (linktypes[k] == lt)
                sel = k;
        struct pcap_pkthdr *h;
        const u_char *d;
        for (int n = 0; sel >= 0 && n < max && pcap_next_ex(p, &h, &d) == 1; n++) {
            char path[4096];
            snprintf(path, sizeof(path), "%s/f%06lu", argv[1], written++);
            FILE *o = fopen(path, "wb");
            if (!o)
                break;
            fputc(sel, o);
            fputc(n, o);
            fwrite(d, 1, h->caplen > 2048 ? 2048 : h->caplen, o);
            fclose(o);
        }
        pcap_close(p);
    }
    printf("%lu\n", written);
    return 0;
}
