/* pcap_floor.c — the libpcap read floor for `make bench`: reads every frame of a capture with
 * pcap_next_ex and does nothing else, then prints frames, bytes and seconds. No moonshark tool
 * can read a file faster than this through libpcap.
 * The file is opened with fopen and a 1 MiB stdio buffer handed to pcap_fopen_offline (as
 * engine/capture/pcap_source.c does): pcap_open_offline's default 4 KiB buffer costs one read(2) per
 * 4 KiB and would make the "floor" slower than moonshark itself. --default-buffer measures that
 * plain pcap_open_offline path instead (what tshark and tcpflow get). */
#include <pcap/pcap.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static double now_seconds(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

#define FLOOR_IOBUF (1u << 20)

int main(int argc, char **argv)
{
    bool default_buffer = argc == 3 && strcmp(argv[1], "--default-buffer") == 0;
    const char *path = argv[argc - 1];
    if ((argc != 2 && !default_buffer) || strcmp(path, "-h") == 0 || strcmp(path, "--help") == 0) {
        bool help = argc == 2;
        fprintf(help ? stdout : stderr,
                "usage: pcap_floor [--default-buffer] FILE\n"
                "Reads every frame with pcap_next_ex and prints: frames=N bytes=N seconds=S\n"
                "(bytes counts captured frame bytes, not the pcap record headers).\n"
                "--default-buffer: pcap_open_offline's own 4 KiB stdio buffer instead of 1 MiB.\n");
        return help ? 0 : 2;
    }
    char errbuf[PCAP_ERRBUF_SIZE];
    double t0 = now_seconds();
    pcap_t *p;
    FILE *fp = NULL;
    char *iobuf = NULL;
    if (default_buffer) {
        p = pcap_open_offline(path, errbuf);
    } else {
        fp = fopen(path, "rb");
        if (!fp) {
            fprintf(stderr, "pcap_floor: cannot open %s\n", path);
            return 1;
        }
        iobuf = malloc(FLOOR_IOBUF);
        if (iobuf)
            setvbuf(fp, iobuf, _IOFBF, FLOOR_IOBUF);
        p = pcap_fopen_offline(fp, errbuf); /* owns fp from here on success */
    }
    if (!p) {
        fprintf(stderr, "pcap_floor: cannot open %s: %s\n", path, errbuf);
        if (fp)
            fclose(fp);
        free(iobuf);
        return 1;
    }
    struct pcap_pkthdr *hdr;
    const u_char *data;
    uint64_t frames = 0, bytes = 0;
    unsigned sink = 0; /* touches one byte per frame so the read cannot be optimised away */
    int rc;
    while ((rc = pcap_next_ex(p, &hdr, &data)) == 1) {
        frames++;
        bytes += hdr->caplen;
        if (hdr->caplen)
            sink += data[0];
    }
    int status = 0;
    if (rc == PCAP_ERROR) {
        fprintf(stderr, "pcap_floor: %s: read failed after frame %llu: %s\n", path,
                (unsigned long long)frames, pcap_geterr(p));
        status = 1;
    }
    pcap_close(p); /* closes fp; the buffer is freed after it */
    free(iobuf);
    double secs = now_seconds() - t0;
    printf("frames=%llu bytes=%llu seconds=%.6f sink=%u\n", (unsigned long long)frames,
           (unsigned long long)bytes, secs, sink & 1u);
    return status;
}
