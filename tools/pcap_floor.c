/* pcap_floor.c — the libpcap read floor for `make bench`: reads every frame of a capture with
 * pcap_next_ex and does nothing else, then prints frames, bytes and seconds. No moonshark tool
 * can read a file faster than this through libpcap. */
#include <pcap/pcap.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

static double now_seconds(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

int main(int argc, char **argv)
{
    if (argc != 2 || strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "--help") == 0) {
        fprintf(argc == 2 ? stdout : stderr,
                "usage: pcap_floor FILE\n"
                "Reads every frame with pcap_next_ex and prints: frames=N bytes=N seconds=S\n"
                "(bytes counts captured frame bytes, not the pcap record headers).\n");
        return argc == 2 ? 0 : 2;
    }
    char errbuf[PCAP_ERRBUF_SIZE];
    double t0 = now_seconds();
    pcap_t *p = pcap_open_offline(argv[1], errbuf);
    if (!p) {
        fprintf(stderr, "pcap_floor: cannot open %s: %s\n", argv[1], errbuf);
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
        fprintf(stderr, "pcap_floor: %s: read failed after frame %llu: %s\n", argv[1],
                (unsigned long long)frames, pcap_geterr(p));
        status = 1;
    }
    pcap_close(p);
    double secs = now_seconds() - t0;
    printf("frames=%llu bytes=%llu seconds=%.6f sink=%u\n", (unsigned long long)frames,
           (unsigned long long)bytes, secs, sink & 1u);
    return status;
}
