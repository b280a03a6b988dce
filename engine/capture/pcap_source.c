/* pcap_source.c — packet sources over libpcap: capture files, stdin and live interfaces.
 * Files are opened with fopen so "cannot open" and "not a capture" are told apart, and with
 * nanosecond precision so every timestamp is kept as nanoseconds. A BPF filter on a file is
 * applied here with pcap_offline_filter, so frame numbers stay those of the file. Classic pcap
 * files are read by capture/pcap_fast.c while their records are plain, libpcap after that. */
#include "capture/source.h"

#include "capture/gzip.h"
#include "capture/pcap_fast.h"

#include <errno.h>
#include <pcap/pcap.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define MS_SOURCE_IOBUF (1u << 20)

struct ms_source {
    pcap_t *pcap;
    FILE *fp;                  /* the file under pcap (owned by pcap after pcap_fopen) */
    FILE *raw;                 /* gzip'd input: the compressed file under fp (for progress), else NULL */
    char name[256];            /* file name or interface, for messages */
    bool live;
    bool has_filter;           /* offline filter compiled into prog */
    struct bpf_program prog;
    uint64_t ts_mult;          /* 1 when libpcap gives nanoseconds, 1000 for microseconds */
    uint64_t size;             /* file size, 0 when unknown */
    uint64_t frames;           /* frames read from the file (including filtered-out ones) */
    volatile sig_atomic_t stop;
    int live_fd;               /* live: the selectable descriptor (reads are non-blocking), else -1 */
    int timeout_ms;            /* live: how long one ms_source_next waits for a frame */
    char *iobuf;               /* stdio buffer of fp, freed after pcap_close */
    int linktype;
    bool fast;                 /* records come from `quick` (libpcap only opened the file) */
    ms_pcap_fast quick;        /* the quick reader of classic pcap files (capture/pcap_fast.h) */
};

static void source_set_name(ms_source *s, const char *name)
{
    snprintf(s->name, sizeof s->name, "%s", name);
}

/* Why libpcap refused a file, when its first bytes say it is compressed (NULL otherwise). */
static const char *file_hint(const char *path)
{
    if (strcmp(path, "-") == 0)
        return NULL;
    unsigned char head[8];
    FILE *f = fopen(path, "rb");
    size_t n = f ? fread(head, 1, sizeof head, f) : 0;
    if (f)
        fclose(f);
    return ms_gzip_compression_hint(head, n);
}

static int compile_filter(ms_source *s, const char *filter, ms_err *err)
{
    if (pcap_compile(s->pcap, &s->prog, filter, 1, PCAP_NETMASK_UNKNOWN) != 0)
        return ms_fail(err, MS_EINVAL, "bad filter '%s': %s", filter, pcap_geterr(s->pcap));
    return 0;
}

ms_source *ms_source_open_file(const char *path, const ms_source_opts *opts, ms_err *err, int *code)
{
    char errbuf[PCAP_ERRBUF_SIZE] = "";
    int dummy;
    if (!code)
        code = &dummy;
    ms_source *s = calloc(1, sizeof *s);
    if (!s) {
        *code = ms_fail(err, MS_ENOMEM, "out of memory opening %s", path);
        return NULL;
    }
    source_set_name(s, strcmp(path, "-") == 0 ? "(stdin)" : path);
    if (strcmp(path, "-") == 0) {
        s->fp = stdin;
    } else {
        struct stat st;
        if (stat(path, &st) == 0 && S_ISDIR(st.st_mode)) {
            *code = ms_fail(err, MS_EIO, "%s: is a directory, not a capture file", path);
            free(s);
            return NULL;
        }
        s->fp = fopen(path, "rb");
        if (!s->fp) {
            *code = ms_fail(err, MS_EIO, "%s: cannot open: %s", path, strerror(errno));
            free(s);
            return NULL;
        }
        if (S_ISREG(st.st_mode))
            s->size = (uint64_t)st.st_size;
    }
    /* libpcap reads a record at a time through stdio; a large buffer turns thousands of small
     * read(2) calls into a few big ones. */
    s->iobuf = malloc(MS_SOURCE_IOBUF);
    if (s->iobuf)
        setvbuf(s->fp, s->iobuf, _IOFBF, MS_SOURCE_IOBUF);
    if (ms_gzip_next_is_gzip(s->fp)) { /* a .pcap.gz (or gzip on stdin): read through zlib */
        FILE *gz = ms_gzip_open(s->fp, s->name, err);
        if (!gz) {
            *code = MS_EFORMAT;
            if (s->fp != stdin)
                fclose(s->fp);
            free(s->iobuf);
            free(s);
            return NULL;
        }
        s->raw = s->fp;
        s->fp = gz;
    }
    s->pcap = pcap_fopen_offline_with_tstamp_precision(s->fp, PCAP_TSTAMP_PRECISION_NANO, errbuf);
    if (!s->pcap) {
        const char *hint = s->raw ? NULL : file_hint(path);
        if (hint)
            *code = ms_fail(err, MS_EFORMAT, "%s: not a pcap or pcapng capture: %s", s->name, hint);
        else
            *code = ms_fail(err, MS_EFORMAT, "%s: not a pcap or pcapng capture (%s%s)", s->name,
                            s->raw ? "gzip'd, and inside it: " : "", errbuf);
        if (s->fp != stdin)
            fclose(s->fp);
        free(s->iobuf);
        free(s);
        return NULL;
    }
    s->ts_mult = pcap_get_tstamp_precision(s->pcap) == PCAP_TSTAMP_PRECISION_NANO ? 1 : 1000;
    s->linktype = pcap_datalink(s->pcap);
    if (opts && opts->filter && *opts->filter) {
        int rc = compile_filter(s, opts->filter, err);
        if (rc) {
            *code = rc;
            ms_source_close(s);
            return NULL;
        }
        s->has_filter = true;
    }
    /* libpcap read the file header (and checked it); plain records are read without it from here.
     * MOONSHARK_LIBPCAP_ONLY=1 keeps libpcap for every record (tests compare the two). */
    const char *only = getenv("MOONSHARK_LIBPCAP_ONLY");
    if (s->fp != stdin && !s->raw && s->size && !(only && *only && strcmp(only, "0") != 0))
        s->fast = ms_pcap_fast_open(&s->quick, path, s->linktype, pcap_snapshot(s->pcap));
    *code = 0;
    return s;
}

/* The quick reader met a record it leaves to libpcap: libpcap, still just past the file header,
 * skips the frames already handed out and reads on from that record. 0, or what ms_source_next
 * returns for a failed read. */
static int leave_to_libpcap(ms_source *src)
{
    ms_pcap_fast_close(&src->quick);
    src->fast = false;
    for (uint64_t i = 0; i < src->frames; i++) {
        struct pcap_pkthdr *hdr;
        const u_char *data;
        if (pcap_next_ex(src->pcap, &hdr, &data) != 1)
            return -1; /* cannot happen: the quick reader read these records whole */
    }
    return 0;
}

ms_source *ms_source_open_live(const char *iface, const ms_source_opts *opts, ms_err *err)
{
    char errbuf[PCAP_ERRBUF_SIZE] = "";
    ms_source *s = calloc(1, sizeof *s);
    if (!s) {
        ms_fail(err, MS_ENOMEM, "out of memory opening %s", iface);
        return NULL;
    }
    source_set_name(s, iface);
    s->live = true;
    s->pcap = pcap_create(iface, errbuf);
    if (!s->pcap) {
        ms_fail(err, MS_EIO, "%s: cannot capture: %s", iface, errbuf);
        free(s);
        return NULL;
    }
    int snaplen = opts && opts->snaplen > 0 ? opts->snaplen : 262144;
    pcap_set_snaplen(s->pcap, snaplen);
    pcap_set_promisc(s->pcap, opts ? opts->promisc : 0);
    pcap_set_timeout(s->pcap, opts && opts->timeout_ms > 0 ? opts->timeout_ms : 100);
    s->ts_mult = pcap_set_tstamp_precision(s->pcap, PCAP_TSTAMP_PRECISION_NANO) == 0 ? 1 : 1000;
    int rc = pcap_activate(s->pcap);
    if (rc < 0) {
        const char *why = rc == PCAP_ERROR_PERM_DENIED ? "permission denied (run as root or grant CAP_NET_RAW)"
                          : rc == PCAP_ERROR_NO_SUCH_DEVICE ? "no such interface"
                                                            : pcap_geterr(s->pcap);
        ms_fail(err, MS_EIO, "%s: cannot capture: %s", iface, why);
        pcap_close(s->pcap);
        free(s);
        return NULL;
    }
    s->linktype = pcap_datalink(s->pcap);
    /* Non-blocking reads and our own poll with a timeout: a blocking read on an idle interface
     * may wait for ever (TPACKET_V3 retires no block without a packet), and the caller must get
     * control back to look at the clock and at Ctrl-C. */
    s->timeout_ms = opts && opts->timeout_ms > 0 ? opts->timeout_ms : 100;
    s->live_fd = pcap_get_selectable_fd(s->pcap);
    if (s->live_fd >= 0 && pcap_setnonblock(s->pcap, 1, errbuf) != 0)
        s->live_fd = -1; /* keep blocking reads (bounded by libpcap's own timeout) */
    if (opts && opts->filter && *opts->filter) {
        if (compile_filter(s, opts->filter, err) != 0) {
            ms_source_close(s);
            return NULL;
        }
        if (pcap_setfilter(s->pcap, &s->prog) != 0) {
            ms_fail(err, MS_EINVAL, "%s: cannot set filter: %s", iface, pcap_geterr(s->pcap));
            ms_source_close(s);
            return NULL;
        }
        pcap_freecode(&s->prog);
    }
    return s;
}

int ms_source_next(ms_source *src, ms_frame *frame, ms_err *err)
{
    bool polled = false;
    while (src->fast && !src->stop) {
        ms_pcap_record rec;
        int rc = ms_pcap_fast_next(&src->quick, &rec);
        if (rc == 0)
            return 0;
        if (rc < 0) {
            if (leave_to_libpcap(src) != 0)
                return ms_fail(err, MS_EIO, "%s: libpcap cannot read frame %llu again", src->name,
                               (unsigned long long)src->frames);
            break;
        }
        src->frames++;
        if (src->has_filter) {
            struct pcap_pkthdr h;
            memset(&h, 0, sizeof h);
            h.caplen = rec.caplen;
            h.len = rec.wirelen;
            if (!pcap_offline_filter(&src->prog, &h, rec.data))
                continue;
        }
        frame->data = rec.data;
        frame->caplen = rec.caplen;
        frame->wirelen = rec.wirelen;
        frame->ts_ns = rec.ts_ns;
        frame->linktype = src->linktype;
        frame->ifindex = 0;
        frame->number = src->frames;
        return 1;
    }
    for (;;) {
        if (src->stop)
            return 0;
        struct pcap_pkthdr *hdr;
        const u_char *data;
        int rc = pcap_next_ex(src->pcap, &hdr, &data);
        if (rc == 1) {
            src->frames++;
            if (src->has_filter && !pcap_offline_filter(&src->prog, hdr, data))
                continue;
            frame->data = data;
            frame->caplen = hdr->caplen;
            frame->wirelen = hdr->len;
            /* pcap stores unsigned 32-bit seconds and libpcap hands them over sign-extended:
             * a time past 2038 comes back negative (pcapng's 64-bit times do not) */
            int64_t sec = (int64_t)hdr->ts.tv_sec;
            uint64_t secs = sec < 0 ? (uint64_t)(uint32_t)sec : (uint64_t)sec;
            frame->ts_ns = secs * 1000000000ULL + (uint64_t)hdr->ts.tv_usec * src->ts_mult;
            frame->linktype = src->linktype;
            frame->ifindex = 0;
            frame->number = src->frames;
            return 1;
        }
        if (rc == 0) {
            if (!src->live)
                continue;
            if (src->live_fd >= 0 && !polled) {
                /* nothing ready: wait for the descriptor, at most the timeout, then read once more */
                struct pollfd pfd = { src->live_fd, POLLIN, 0 };
                polled = true;
                if (poll(&pfd, 1, src->timeout_ms) > 0)
                    continue;
            }
            return MS_SOURCE_IDLE; /* the caller looks at the clock and at signals */
        }
        if (rc == PCAP_ERROR_BREAK)
            return 0;
        if (src->live)
            return ms_fail(err, MS_EIO, "%s: capture failed: %s", src->name, pcap_geterr(src->pcap));
        const char *why = pcap_geterr(src->pcap);
        if (strstr(why, "truncated"))
            return ms_fail(err, MS_ETRUNC, "%s: truncated at frame %llu (%llu complete frames before it): %s",
                           src->name, (unsigned long long)src->frames + 1, (unsigned long long)src->frames, why);
        /* not a cut file: a record libpcap refuses (e.g. a pcapng interface it cannot mix) */
        return ms_fail(err, MS_EIO, "%s: libpcap cannot read frame %llu (%llu frames read before it): %s",
                       src->name, (unsigned long long)src->frames + 1, (unsigned long long)src->frames, why);
    }
}

void ms_source_break(ms_source *src)
{
    src->stop = 1;
    pcap_breakloop(src->pcap);
}

uint64_t ms_source_offset(const ms_source *src)
{
    if (src->live || !src->size)
        return 0;
    if (src->fast)
        return ms_pcap_fast_offset(&src->quick);
    FILE *fp = src->raw ? src->raw : pcap_file(src->pcap);
    long off = fp ? ftell(fp) : -1;
    return off < 0 ? 0 : (uint64_t)off;
}

uint64_t ms_source_size(const ms_source *src)
{
    return src->size;
}

int ms_source_linktype(const ms_source *src)
{
    return src->linktype;
}

const char *ms_source_name(const ms_source *src)
{
    return src->name;
}

int ms_source_live_stats(ms_source *src, uint64_t *received, uint64_t *dropped, uint64_t *if_dropped)
{
    struct pcap_stat st;
    if (!src->live || pcap_stats(src->pcap, &st) != 0)
        return MS_EINVAL;
    *received = st.ps_recv;
    *dropped = st.ps_drop;
    *if_dropped = st.ps_ifdrop;
    return 0;
}

bool ms_source_set_blocks(ms_source *src, const struct ms_pcap_blocks *b)
{
    if (!src->fast)
        return false;
    ms_pcap_fast_set_blocks(&src->quick, b);
    return true;
}

void ms_source_close(ms_source *src)
{
    if (!src)
        return;
    if (src->has_filter)
        pcap_freecode(&src->prog);
    if (src->fast)
        ms_pcap_fast_close(&src->quick);
    if (src->pcap)
        pcap_close(src->pcap); /* closes the FILE it was opened from */
    free(src->iobuf);
    free(src);
}

int ms_source_interfaces(void (*fn)(void *ud, const ms_iface *iface), void *ud, ms_err *err)
{
    char errbuf[PCAP_ERRBUF_SIZE] = "";
    pcap_if_t *all = NULL;
    if (pcap_findalldevs(&all, errbuf) != 0)
        return ms_fail(err, MS_EIO, "cannot list interfaces: %s", errbuf);
    int n = 0;
    for (pcap_if_t *d = all; d; d = d->next, n++) {
        ms_iface in = { d->name, d->description, 0 };
        if (d->flags & PCAP_IF_UP)
            in.flags |= MS_IFACE_UP;
        if (d->flags & PCAP_IF_RUNNING)
            in.flags |= MS_IFACE_RUNNING;
        if (d->flags & PCAP_IF_LOOPBACK)
            in.flags |= MS_IFACE_LOOPBACK;
        if (d->flags & PCAP_IF_WIRELESS)
            in.flags |= MS_IFACE_WIRELESS;
        switch (d->flags & PCAP_IF_CONNECTION_STATUS) {
        case PCAP_IF_CONNECTION_STATUS_CONNECTED: in.flags |= MS_IFACE_CONNECTED; break;
        case PCAP_IF_CONNECTION_STATUS_DISCONNECTED: in.flags |= MS_IFACE_DISCONNECTED; break;
        case PCAP_IF_CONNECTION_STATUS_NOT_APPLICABLE: in.flags |= MS_IFACE_STATUS_NA; break;
        default: break;
        }
        fn(ud, &in);
    }
    pcap_freealldevs(all);
    return n;
}
