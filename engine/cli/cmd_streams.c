/* cmd_streams.c — `moonshark streams FILE... -o DIR`: the reassembled bytes of every TCP direction
 * in its own file, named like tcpflow 1.6.1 (SRCIP.SPORT-DSTIP.DPORT, zero-padded IPv4 quads and
 * 5-digit ports, "c1", "c2"... for later connections on the same tuple), plus DIR/streams.jsonl
 * with one JSON record per direction. File offsets are stream offsets: a skipped gap leaves a
 * hole (zeros) in the file, as tcpflow's writes at seq - isn do. At most OPEN_FILES descriptors
 * are open at once (least recently written closed first). */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli/cli.h"
#include "cli/commands.h"
#include "decode/decode.h"
#include "tcp/tcp.h"

#define OPEN_FILES 64      /* descriptors kept open */
#define MAX_GAPS 32        /* gaps listed per direction in streams.jsonl (more are counted) */
#define NAME_BUCKETS 4096

static const char streams_usage[] =
    "usage: moonshark streams [OPTIONS] CAPTURE... -o DIR\n"
    "\n"
    "Writes the reassembled bytes of every TCP direction to DIR/SRCIP.SPORT-DSTIP.DPORT (tcpflow's\n"
    "names: 010.000.000.001.01234-010.000.000.002.00080; a later connection on the same tuple gets\n"
    "c1, c2, ... appended), and DIR/streams.jsonl: one JSON record per direction with uid, endpoints,\n"
    "bytes, gaps (offset, length), first/last capture time and why the connection closed.\n"
    "Bytes lost in a gap are skipped after --gap-timeout seconds of capture time (default 30) and\n"
    "leave a hole of zeros in the file; connections idle for --idle-timeout (default 300) close.\n"
    "\n"
    "Options: -o DIR (required), -f EXPR (BPF filter), --max-conns N, --max-pages N,\n"
    "--stats (assembler counters on stderr), -q, -h.\n";

typedef struct streams_run streams_run;

/* One direction of a connection. */
typedef struct sdir {
    char name[176];           /* file name (empty until the first byte is written) */
    int slot;                 /* index in run->files, -1 when not open */
    bool created;             /* the file exists (later opens do not truncate) */
    bool start_unknown;       /* the first bytes came with skip = -1 */
    uint64_t off;             /* stream offset of the next byte (= file offset) */
    uint64_t bytes;           /* bytes written */
    uint64_t gap_off[MAX_GAPS], gap_len[MAX_GAPS];
    int ngaps;
    uint64_t more_gaps;       /* gaps beyond MAX_GAPS */
    uint64_t first_ts, last_ts;
} sdir;

typedef struct sconn {
    streams_run *run;
    ms_tcp_conn *conn;
    char base[2][160];        /* tcpflow base names, by MS_TCP_CLIENT / MS_TCP_SERVER */
    sdir d[2];
} sconn;

typedef struct open_file {
    int fd;
    sdir *owner;
    uint64_t stamp;           /* last use, for least-recently-used closing */
} open_file;

typedef struct name_entry {
    struct name_entry *next;
    unsigned count;           /* files already made with this base name */
    char name[];
} name_entry;

struct streams_run {
    const char *dir;
    ms_tcp_assembler *a;
    const ms_cli_opts *opts;
    open_file files[OPEN_FILES];
    uint64_t stamp;
    name_entry *names[NAME_BUCKETS];
    FILE *jsonl;
    uint64_t files_written, write_errors;
    bool reported_error;
    int cur_vlan;             /* 802.1Q id of the packet being assembled, -1 when untagged */
};

/* ---- names --------------------------------------------------------------------------------- */

static void endpoint_name(const ms_endpoint *e, char *buf, size_t size)
{
    if (e->family == 4)
        snprintf(buf, size, "%03u.%03u.%03u.%03u.%05u", e->addr[0], e->addr[1], e->addr[2], e->addr[3],
                 e->port);
    else {
        char a[48];
        ms_addr_format(e->addr, 6, a, sizeof a);
        snprintf(buf, size, "%s.%05u", a, e->port);
    }
}

static unsigned name_hash(const char *s)
{
    unsigned h = 2166136261u;
    while (*s)
        h = (h ^ (unsigned char)*s++) * 16777619u;
    return h % NAME_BUCKETS;
}

/* Returns how many files with this base name were made before (and counts this one). */
static unsigned name_claim(streams_run *r, const char *base)
{
    unsigned b = name_hash(base);
    for (name_entry *e = r->names[b]; e; e = e->next)
        if (strcmp(e->name, base) == 0)
            return e->count++;
    size_t n = strlen(base);
    name_entry *e = malloc(sizeof *e + n + 1);
    if (!e)
        return 0;
    memcpy(e->name, base, n + 1);
    e->count = 1;
    e->next = r->names[b];
    r->names[b] = e;
    return 0;
}

static void names_free(streams_run *r)
{
    for (size_t i = 0; i < NAME_BUCKETS; i++) {
        name_entry *e = r->names[i];
        while (e) {
            name_entry *next = e->next;
            free(e);
            e = next;
        }
    }
}

/* ---- files --------------------------------------------------------------------------------- */

static void report_io(streams_run *r, const char *what, const sdir *d)
{
    r->write_errors++;
    if (!r->reported_error) {
        ms_cli_error("cannot %s %s/%s: %s (is the disk full or the folder read-only?)", what, r->dir, d->name,
                     strerror(errno));
        r->reported_error = true;
    }
}

static void file_close(streams_run *r, int slot)
{
    open_file *f = &r->files[slot];
    if (f->owner) {
        close(f->fd);
        f->owner->slot = -1;
        f->owner = NULL;
    }
}

/* Returns an open descriptor for d, opening (and creating) its file; -1 on failure. */
static int file_fd(streams_run *r, sdir *d)
{
    r->stamp++;
    if (d->slot >= 0) {
        r->files[d->slot].stamp = r->stamp;
        return r->files[d->slot].fd;
    }
    int victim = 0;
    for (int i = 0; i < OPEN_FILES; i++) {
        if (!r->files[i].owner) {
            victim = i;
            break;
        }
        if (r->files[i].stamp < r->files[victim].stamp)
            victim = i;
    }
    file_close(r, victim);
    char path[4096];
    snprintf(path, sizeof path, "%s/%s", r->dir, d->name);
    int fd = open(path, O_WRONLY | O_CREAT | (d->created ? 0 : O_TRUNC), 0644);
    if (fd < 0) {
        report_io(r, "create", d);
        return -1;
    }
    if (!d->created)
        r->files_written++;
    d->created = true;
    r->files[victim] = (open_file){ fd, d, r->stamp };
    d->slot = victim;
    return fd;
}

static void write_at(streams_run *r, sdir *d, const uint8_t *p, size_t n, uint64_t off)
{
    int fd = file_fd(r, d);
    if (fd < 0)
        return;
    while (n > 0) {
        ssize_t w = pwrite(fd, p, n, (off_t)off);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0) {
            report_io(r, "write", d);
            return;
        }
        p += w;
        n -= (size_t)w;
        off += (uint64_t)w;
    }
}

/* ---- the stream callbacks ------------------------------------------------------------------ */

static void *on_new(void *factory, ms_tcp_conn *conn, const ms_tcp_segment *first, int dir)
{
    streams_run *r = factory;
    sconn *s = calloc(1, sizeof *s);
    if (!s)
        return NULL;
    s->run = r;
    s->conn = conn;
    const ms_tcp_conn_info *in = ms_tcp_conn_get_info(conn);
    char c[64], v[64];
    endpoint_name(&in->client, c, sizeof c);
    endpoint_name(&in->server, v, sizeof v);
    /* tcpflow appends "--VLAN" for 802.1Q-tagged traffic */
    char vlan[16] = "";
    if (r->cur_vlan >= 0)
        snprintf(vlan, sizeof vlan, "--%d", r->cur_vlan);
    snprintf(s->base[MS_TCP_CLIENT], sizeof s->base[0], "%s-%s%s", c, v, vlan);
    snprintf(s->base[MS_TCP_SERVER], sizeof s->base[1], "%s-%s%s", v, c, vlan);
    s->d[0].slot = s->d[1].slot = -1;
    return s;
}

static void on_data(void *stream, ms_tcp_view *v)
{
    sconn *s = stream;
    sdir *d = &s->d[v->dir];
    uint64_t fresh = v->len - v->kept;
    if (v->skip > 0) {
        if (d->ngaps < MAX_GAPS) {
            d->gap_off[d->ngaps] = d->off;
            d->gap_len[d->ngaps] = (uint64_t)v->skip;
            d->ngaps++;
        } else {
            d->more_gaps++;
        }
        d->off += (uint64_t)v->skip;
    } else if (v->skip < 0 && d->bytes == 0 && d->off == 0) {
        d->start_unknown = true;
    }
    if (fresh == 0)
        return;
    if (!d->name[0]) {
        const char *base = s->base[v->dir];
        unsigned k = name_claim(s->run, base);
        size_t n = strlen(base); /* < 160 */
        memcpy(d->name, base, n + 1);
        if (k)
            snprintf(d->name + n, sizeof d->name - n, "c%u", k);
        d->first_ts = v->chunks[0].ts_ns;
    }
    for (int i = 0; i < v->nchunks; i++) {
        write_at(s->run, d, v->chunks[i].data, v->chunks[i].len, d->off);
        d->off += v->chunks[i].len;
        d->bytes += v->chunks[i].len;
    }
    d->last_ts = v->chunks[v->nchunks - 1].ts_ns;
}

static void json_str(FILE *f, const char *s)
{
    fputc('"', f);
    for (; *s; s++) {
        if (*s == '"' || *s == '\\')
            fputc('\\', f);
        fputc(*s, f);
    }
    fputc('"', f);
}

static void json_ts(FILE *f, uint64_t ns)
{
    fprintf(f, "%llu.%06llu", (unsigned long long)(ns / 1000000000ULL),
            (unsigned long long)(ns % 1000000000ULL / 1000ULL));
}

static void write_record(streams_run *r, sconn *s, int dir, ms_tcp_close_reason reason)
{
    const ms_tcp_conn_info *in = ms_tcp_conn_get_info(s->conn);
    const ms_tcp_half_stats *st = &in->half[dir];
    sdir *d = &s->d[dir];
    const ms_endpoint *src = dir == MS_TCP_CLIENT ? &in->client : &in->server;
    const ms_endpoint *dst = dir == MS_TCP_CLIENT ? &in->server : &in->client;
    char sa[64], da[64];
    ms_addr_format(src->addr, src->family, sa, sizeof sa);
    ms_addr_format(dst->addr, dst->family, da, sizeof da);
    FILE *f = r->jsonl;
    fprintf(f, "{\"uid\":\"%s\",\"dir\":\"%s\",\"src\":\"%s\",\"sport\":%u,\"dst\":\"%s\",\"dport\":%u,", in->uid,
            dir == MS_TCP_CLIENT ? "orig" : "resp", sa, src->port, da, dst->port);
    fputs("\"file\":", f);
    if (d->name[0])
        json_str(f, d->name);
    else
        fputs("null", f);
    fprintf(f, ",\"bytes\":%llu,\"packets\":%llu,\"overlap_bytes\":%llu,\"missed_bytes\":%llu,\"gaps\":[",
            (unsigned long long)d->bytes, (unsigned long long)st->packets, (unsigned long long)st->bytes_overlap,
            (unsigned long long)st->bytes_skipped);
    for (int i = 0; i < d->ngaps; i++)
        fprintf(f, "%s[%llu,%llu]", i ? "," : "", (unsigned long long)d->gap_off[i],
                (unsigned long long)d->gap_len[i]);
    fprintf(f, "],\"more_gaps\":%llu,\"start_seen\":%s,", (unsigned long long)d->more_gaps,
            d->start_unknown ? "false" : "true");
    fputs("\"first_ts\":", f);
    if (d->bytes)
        json_ts(f, d->first_ts);
    else
        json_ts(f, st->first_ts_ns);
    fputs(",\"last_ts\":", f);
    json_ts(f, d->bytes ? d->last_ts : st->last_ts_ns);
    fprintf(f, ",\"fin\":%s,\"rst\":%s,\"close\":\"%s\"}\n", st->fin ? "true" : "false", st->rst ? "true" : "false",
            ms_tcp_close_reason_name(reason));
}

static void on_complete(void *stream, ms_tcp_conn *conn, ms_tcp_close_reason reason)
{
    sconn *s = stream;
    streams_run *r = s->run;
    for (int dir = 0; dir < 2; dir++) {
        if (s->d[dir].slot >= 0)
            file_close(r, s->d[dir].slot);
        if (ms_tcp_conn_get_info(conn)->half[dir].packets)
            write_record(r, s, dir, reason);
    }
    free(s);
}

/* ---- the read loop hooks ------------------------------------------------------------------- */

static void on_packet(void *ud, ms_packet *pkt)
{
    streams_run *r = ud;
    if (!ms_packet_layer(pkt, MS_LAYER_TCP))
        return;
    r->cur_vlan = -1;
    for (int i = 0; i < pkt->nlayers; i++)
        if (pkt->layers[i].type == MS_LAYER_VLAN && pkt->layers[i].hdr_len >= 2) {
            r->cur_vlan = (pkt->layers[i].data[0] & 0x0f) << 8 | pkt->layers[i].data[1];
            break;
        }
    ms_tcp_assemble_packet(r->a, pkt);
}

static void on_tick(void *ud, uint64_t now)
{
    streams_run *r = ud;
    ms_tcp_flush(r->a, ms_ns_before(now, r->opts->gap_timeout_ns), ms_ns_before(now, r->opts->idle_timeout_ns));
}

static void on_input_end(void *ud, const char *name)
{
    streams_run *r = ud;
    ms_tcp_flush_all(r->a);
}

int ms_cmd_streams(int argc, char **argv)
{
    ms_cli_opts opts;
    opts.command = "streams";
    int rc = ms_cli_parse(argc, argv, &opts, streams_usage);
    if (rc == 1)
        return 0;
    if (rc || ms_cli_no_view(&opts))
        return 2;
    if (!opts.out_dir) {
        ms_cli_error("streams needs an output folder: moonshark streams CAPTURE -o DIR");
        return 2;
    }
    bool created = mkdir(opts.out_dir, 0755) == 0;
    if (!created && errno != EEXIST) {
        ms_cli_error("cannot create folder %s: %s", opts.out_dir, strerror(errno));
        return 1;
    }
    /* the stream files are created after the drop to -Z USER (or nobody): a folder made here is theirs */
    const char *drop_user = ms_cli_drop_user(&opts);
    ms_err perr;
    if (created && drop_user && ms_cli_give_to_user(opts.out_dir, drop_user, &perr) != 0) {
        ms_cli_error("%s", perr.msg);
        return 1;
    }
    streams_run *r = calloc(1, sizeof *r);
    if (!r) {
        ms_cli_error("out of memory");
        return 1;
    }
    r->dir = opts.out_dir;
    r->opts = &opts;
    char path[4096];
    snprintf(path, sizeof path, "%s/streams.jsonl", opts.out_dir);
    r->jsonl = fopen(path, "w");
    if (!r->jsonl) {
        ms_cli_error("cannot create %s: %s", path, strerror(errno));
        free(r);
        return 1;
    }
    ms_tcp_opts topts;
    ms_cmd_tcp_opts(&opts, &topts);
    ms_tcp_stream_ops ops = { on_new, NULL, on_data, on_complete };
    r->a = ms_tcp_assembler_new(&topts, &ops, r);
    ms_decode_opts dopts;
    ms_decode_opts_default(&dopts);
    dopts.eager = false;
    ms_decode_ctx *ctx = ms_decode_ctx_new(&dopts);
    if (!r->a || !ctx) {
        ms_cli_error("out of memory creating the assembler");
        ms_tcp_assembler_free(r->a);
        ms_decode_ctx_free(ctx);
        fclose(r->jsonl);
        free(r);
        return 1;
    }
    ms_run_hooks hooks = { on_packet, on_tick, on_input_end };
    rc = ms_cli_run(&opts, ctx, &hooks, r);
    ms_tcp_flush_all(r->a);
    for (int i = 0; i < OPEN_FILES; i++)
        file_close(r, i);
    if (fclose(r->jsonl) != 0 && rc == 0) {
        ms_cli_error("cannot write %s: %s", path, strerror(errno));
        rc = MS_EIO;
    }
    if (opts.stats) {
        ms_cmd_print_tcp_stats(stderr, ms_tcp_assembler_stats(r->a));
        fprintf(stderr, "streams: %llu files written\n", (unsigned long long)r->files_written);
    }
    if (r->write_errors && rc == 0)
        rc = MS_EIO;
    ms_tcp_assembler_free(r->a);
    ms_decode_ctx_free(ctx);
    names_free(r);
    free(r);
    return ms_cli_exit_code(rc);
}
