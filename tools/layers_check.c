/* layers_check.c — decoder check tool, independent of the CLI read loop.
 *   layers_check FILE...             FRAME<TAB>STACK for every frame (eager decoding)
 *   layers_check --oracle DIR        every X.layers.tsv under DIR: compare the stack of each frame
 *                                    of X with tshark's (both truncated to the layers we decode),
 *                                    and check that lazy decoding gives what eager decoding gives.
 *                                    Prints one line per file, then a summary.
 *   layers_check --bench N FILE...   bare pcap_next_ex loop vs the same loop with eager decoding;
 *                                    per file the fastest of N passes of each.
 *   layers_check --cpu N FILE...     decoding alone (frames preloaded in memory), fastest of N passes,
 *                                    as a share of the fastest bare pcap_next_ex loop.
 * Reads captures with libpcap directly. */
#include <dirent.h>
#include <pcap/pcap.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "decode/decode.h"

#define STACK_MAX 1024

/* tshark protocol names we decode; an oracle stack is compared up to the first other name. */
static const char *const comparable[] = {
    "eth", "ethertype", "vlan", "ieee8021ad", "mpls", "pppoes", "ppp", "sll", "null", "loop", "raw",
    "ip", "ipv6", "ipv6.hopopts", "ipv6.routing", "ipv6.fraghdr", "ipv6.dstopts", "ah", "tcp", "udp",
    "icmp", "icmpv6", "arp", "gre", "vxlan", "llc",
};

static void truncate_stack(char *s)
{
    char *start = s;
    for (;;) {
        char *colon = strchr(start, ':');
        size_t n = colon ? (size_t)(colon - start) : strlen(start);
        bool ok = false;
        for (size_t i = 0; i < sizeof(comparable) / sizeof(comparable[0]); i++)
            if (strlen(comparable[i]) == n && memcmp(comparable[i], start, n) == 0)
                ok = true;
        if (!ok) {
            *(start == s ? start : start - 1) = '\0';
            return;
        }
        if (!colon)
            return;
        start = colon + 1;
    }
}

static void to_frame(const struct pcap_pkthdr *h, const uint8_t *data, int linktype, uint64_t number,
                     ms_frame *f)
{
    f->data = data;
    f->caplen = h->caplen;
    f->wirelen = h->len;
    f->ts_ns = (uint64_t)h->ts.tv_sec * 1000000000ull + (uint64_t)h->ts.tv_usec * 1000ull;
    f->linktype = linktype;
    f->ifindex = 0;
    f->number = number;
}

static int print_file(const char *path, ms_decode_ctx *ctx)
{
    char errbuf[PCAP_ERRBUF_SIZE];
    pcap_t *p = pcap_open_offline(path, errbuf);
    if (!p) {
        fprintf(stderr, "layers_check: %s\n", errbuf);
        return 1;
    }
    int lt = pcap_datalink(p);
    struct pcap_pkthdr *h;
    const u_char *data;
    uint64_t n = 0;
    static ms_packet pkt;
    char stack[STACK_MAX];
    while (pcap_next_ex(p, &h, &data) == 1) {
        ms_frame f;
        to_frame(h, data, lt, ++n, &f);
        ms_packet_start(&pkt, ctx, &f);
        ms_packet_stack(&pkt, stack, sizeof(stack));
        printf("%llu\t%s\n", (unsigned long long)n, stack);
    }
    pcap_close(p);
    return 0;
}

/* Lazy decoding asks for one layer type first (varied per frame), then for the rest. */
static const ms_layer_type lazy_probe[] = {
    MS_LAYER_TCP, MS_LAYER_IPV4, MS_LAYER_UDP, MS_LAYER_IPV6, MS_LAYER_ETH, MS_LAYER_PAYLOAD, MS_LAYER_GRE,
};

static bool same_packet(const ms_packet *a, const ms_packet *b)
{
    if (a->nlayers != b->nlayers || a->error != b->error || a->payload_len != b->payload_len ||
        !a->payload != !b->payload || (a->payload && memcmp(a->payload, b->payload, a->payload_len)) ||
        a->net.family != b->net.family || a->net.proto != b->net.proto ||
        a->net.sport != b->net.sport || a->net.dport != b->net.dport)
        return false;
    if (a->net.family && (memcmp(a->net.src, b->net.src, 16) || memcmp(a->net.dst, b->net.dst, 16)))
        return false;
    for (unsigned i = 0; i < a->nlayers; i++) {
        const ms_layer *x = &a->layers[i], *y = &b->layers[i];
        if (x->type != y->type || x->flags != y->flags || x->hdr_len != y->hdr_len || x->len != y->len)
            return false;
        /* reassembled layers live in each context's own buffer: compare bytes, not pointers */
        if (memcmp(x->data, y->data, MS_MIN(x->len, 64u)) != 0)
            return false;
    }
    if (a->net.proto == 6 && a->nlayers && memcmp(&a->tcp, &b->tcp, sizeof(a->tcp)) != 0)
        return false;
    return true;
}

typedef struct totals {
    uint64_t files, files_ok, files_failed, frames, agree, missing, extra, lazy_mismatch, unreadable;
} totals;

static int verbose;

static void check_file(const char *pcap_path, const char *oracle_path, totals *t)
{
    FILE *o = fopen(oracle_path, "r");
    if (!o)
        return;
    char errbuf[PCAP_ERRBUF_SIZE];
    pcap_t *p = pcap_open_offline(pcap_path, errbuf);
    ms_decode_opts eo, lo;
    ms_decode_opts_default(&eo);
    lo = eo;
    lo.eager = false;
    ms_decode_ctx *eager = ms_decode_ctx_new(&eo), *lazy = ms_decode_ctx_new(&lo);
    static ms_packet pe, pl;
    char line[STACK_MAX * 2], ours[STACK_MAX], theirs[STACK_MAX];
    uint64_t n = 0, frames = 0, agree = 0, missing = 0, lazy_bad = 0;
    int lt = p ? pcap_datalink(p) : -1;
    bool have_frame = true;
    while (fgets(line, sizeof(line), o)) {
        char *tab = strchr(line, '\t');
        if (!tab)
            continue;
        unsigned long long num = strtoull(line, NULL, 10);
        snprintf(theirs, sizeof(theirs), "%s", tab + 1);
        theirs[strcspn(theirs, "\r\n")] = '\0';
        truncate_stack(theirs);
        frames++;
        /* advance our reader to frame num */
        ours[0] = '\0';
        while (have_frame && p && n < num) {
            struct pcap_pkthdr *h;
            const u_char *data;
            if (pcap_next_ex(p, &h, &data) != 1) {
                have_frame = false;
                break;
            }
            ms_frame f;
            to_frame(h, data, lt, ++n, &f);
            ms_packet_start(&pe, eager, &f);
            ms_packet_start(&pl, lazy, &f);
            ms_packet_layer(&pl, lazy_probe[n % (sizeof(lazy_probe) / sizeof(lazy_probe[0]))]);
            ms_packet_decode_all(&pl);
            if (!same_packet(&pe, &pl)) {
                lazy_bad++;
                if (verbose)
                    fprintf(stderr, "LAZY %s frame %llu differs\n", pcap_path, (unsigned long long)n);
            }
        }
        if (n != num) {
            missing++;
            if (verbose)
                fprintf(stderr, "MISSING %s:%llu\n", pcap_path, num);
            continue;
        }
        ms_packet_stack(&pe, ours, sizeof(ours));
        truncate_stack(ours);
        if (strcmp(ours, theirs) == 0) {
            agree++;
        } else if (verbose) {
            fprintf(stderr, "DIFF %s:%llu ours=%s tshark=%s\n", pcap_path, num, ours, theirs);
        }
    }
    fclose(o);
    if (!p)
        t->unreadable++;
    else
        pcap_close(p);
    ms_decode_ctx_free(eager);
    ms_decode_ctx_free(lazy);
    t->files++;
    t->frames += frames;
    t->agree += agree;
    t->missing += missing;
    t->lazy_mismatch += lazy_bad;
    if (agree == frames && lazy_bad == 0)
        t->files_ok++;
    else
        t->files_failed++;
    printf("%s\t%llu\t%llu\t%llu\n", pcap_path, (unsigned long long)agree, (unsigned long long)frames,
           (unsigned long long)lazy_bad);
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static void walk(const char *dir, totals *t)
{
    DIR *d = opendir(dir);
    if (!d)
        return;
    size_t cap = 64, n = 0;
    char **names = malloc(cap * sizeof(*names));
    struct dirent *e;
    while (names && (e = readdir(d))) {
        if (e->d_name[0] == '.')
            continue;
        if (n == cap) {
            cap *= 2;
            char **grown = realloc(names, cap * sizeof(*names));
            if (!grown)
                break;
            names = grown;
        }
        names[n++] = strdup(e->d_name);
    }
    closedir(d);
    if (!names)
        return;
    qsort(names, n, sizeof(*names), cmp_str);
    for (size_t i = 0; i < n; i++) {
        char path[4096];
        snprintf(path, sizeof(path), "%s/%s", dir, names[i]);
        struct stat st;
        if (stat(path, &st) == 0 && S_ISDIR(st.st_mode)) {
            walk(path, t);
        } else {
            size_t len = strlen(path);
            const char *suffix = ".layers.tsv";
            size_t sl = strlen(suffix);
            if (len > sl && strcmp(path + len - sl, suffix) == 0) {
                char pcap_path[4096];
                snprintf(pcap_path, sizeof(pcap_path), "%.*s", (int)(len - sl), path);
                check_file(pcap_path, path, t);
            }
        }
        free(names[i]);
    }
    free(names);
}

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* One pass over path; decode when ctx is non-NULL. Returns frames read. */
static uint64_t bench_pass(const char *path, ms_decode_ctx *ctx, uint64_t *sink)
{
    char errbuf[PCAP_ERRBUF_SIZE];
    pcap_t *p = pcap_open_offline(path, errbuf);
    if (!p)
        return 0;
    int lt = pcap_datalink(p);
    struct pcap_pkthdr *h;
    const u_char *data;
    uint64_t n = 0;
    static ms_packet pkt;
    while (pcap_next_ex(p, &h, &data) == 1) {
        n++;
        if (ctx) {
            ms_frame f;
            to_frame(h, data, lt, n, &f);
            ms_packet_start(&pkt, ctx, &f);
            *sink += pkt.nlayers + pkt.payload_len;
        } else {
            *sink += h->caplen;
        }
    }
    pcap_close(p);
    return n;
}

int main(int argc, char **argv)
{
    if (argc >= 3 && strcmp(argv[1], "--oracle") == 0) {
        if (argc >= 4 && strcmp(argv[3], "-v") == 0)
            verbose = 1;
        totals t = { 0 };
        walk(argv[2], &t);
        double pct = t.frames ? 100.0 * (double)t.agree / (double)t.frames : 100.0;
        printf("# files %llu (%llu agree fully, %llu differ), frames %llu, agree %llu (%.3f%%), "
               "missing %llu, lazy!=eager %llu, unreadable %llu\n",
               (unsigned long long)t.files, (unsigned long long)t.files_ok, (unsigned long long)t.files_failed,
               (unsigned long long)t.frames, (unsigned long long)t.agree, pct, (unsigned long long)t.missing,
               (unsigned long long)t.lazy_mismatch, (unsigned long long)t.unreadable);
        return 0;
    }
    if (argc >= 4 && strcmp(argv[1], "--cpu") == 0) {
        /* Decoding alone: frames loaded into memory once, then decoded N times; the fastest pass
         * is reported next to the fastest bare pcap_next_ex pass over the same files. */
        int passes = atoi(argv[2]);
        size_t cap = 1024, n = 0;
        ms_frame *frames = malloc(cap * sizeof(*frames));
        uint64_t sink = 0;
        double bare = 0;
        for (int i = 3; i < argc && frames; i++) {
            double best = 1e9;
            for (int r = 0; r < passes; r++) {
                double t0 = now_s();
                bench_pass(argv[i], NULL, &sink);
                best = MS_MIN(best, now_s() - t0);
            }
            bare += best;
            char errbuf[PCAP_ERRBUF_SIZE];
            pcap_t *p = pcap_open_offline(argv[i], errbuf);
            if (!p)
                continue;
            int lt = pcap_datalink(p);
            struct pcap_pkthdr *h;
            const u_char *data;
            while (pcap_next_ex(p, &h, &data) == 1) {
                if (n == cap) {
                    ms_frame *grown = realloc(frames, 2 * cap * sizeof(*frames));
                    if (!grown)
                        break;
                    frames = grown;
                    cap *= 2;
                }
                uint8_t *copy = malloc(h->caplen ? h->caplen : 1);
                if (!copy)
                    break;
                memcpy(copy, data, h->caplen);
                to_frame(h, copy, lt, n + 1, &frames[n]);
                n++;
            }
            pcap_close(p);
        }
        ms_decode_opts o;
        ms_decode_opts_default(&o);
        if (getenv("MS_BENCH_NO_CSUM"))
            o.verify_checksums = false;
        double best = 1e9;
        static ms_packet pkt;
        for (int r = 0; r < passes; r++) {
            ms_decode_ctx *ctx = ms_decode_ctx_new(&o);
            double t0 = now_s();
            for (size_t k = 0; k < n; k++) {
                ms_packet_start(&pkt, ctx, &frames[k]);
                sink += pkt.nlayers + pkt.payload_len;
            }
            best = MS_MIN(best, now_s() - t0);
            ms_decode_ctx_free(ctx);
        }
        printf("frames %zu bare pcap loop %.1f ns/frame, eager decode %.1f ns/frame (%.1f%% of the bare loop) [%llu]\n",
               n, n ? 1e9 * bare / (double)n : 0.0, n ? 1e9 * best / (double)n : 0.0,
               bare > 0 ? 100.0 * best / bare : 0.0, (unsigned long long)(sink & 1));
        for (size_t k = 0; k < n; k++)
            free((void *)frames[k].data);
        free(frames);
        return 0;
    }
    if (argc >= 4 && strcmp(argv[1], "--bench") == 0) {
        /* Per file, the fastest of N passes of each kind (bare read, read + eager decode),
         * alternating so both see the same cache and machine load. */
        int passes = atoi(argv[2]);
        uint64_t sink = 0, frames = 0;
        double bare = 0, dec = 0;
        ms_decode_opts o;
        ms_decode_opts_default(&o);
        if (getenv("MS_BENCH_NO_CSUM"))
            o.verify_checksums = false;
        for (int i = 3; i < argc; i++) {
            double best_bare = 1e9, best_dec = 1e9;
            uint64_t n = 0;
            for (int r = 0; r < passes; r++) {
                ms_decode_ctx *ctx = ms_decode_ctx_new(&o);
                double t0 = now_s();
                n = bench_pass(argv[i], NULL, &sink);
                double t1 = now_s();
                bench_pass(argv[i], ctx, &sink);
                double t2 = now_s();
                ms_decode_ctx_free(ctx);
                best_bare = MS_MIN(best_bare, t1 - t0);
                best_dec = MS_MIN(best_dec, t2 - t1);
            }
            frames += n;
            bare += best_bare;
            dec += best_dec;
        }
        printf("frames %llu bare %.4fs decode %.4fs overhead %.1f%% (%.1f ns/frame) [%llu]\n",
               (unsigned long long)frames, bare, dec, bare > 0 ? 100.0 * (dec - bare) / bare : 0.0,
               frames ? 1e9 * (dec - bare) / (double)frames : 0.0, (unsigned long long)(sink & 1));
        return 0;
    }
    if (argc < 2) {
        fprintf(stderr, "usage: layers_check FILE... | --oracle DIR [-v] | --bench N FILE... | --cpu N FILE...\n");
        return 2;
    }
    ms_decode_opts o;
    ms_decode_opts_default(&o);
    ms_decode_ctx *ctx = ms_decode_ctx_new(&o);
    int rc = 0;
    for (int i = 1; i < argc; i++)
        rc |= print_file(argv[i], ctx);
    ms_decode_ctx_free(ctx);
    return rc;
}
