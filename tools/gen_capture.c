/* gen_capture.c — writes a deterministic synthetic pcap of many interleaved HTTP/1.1 connections
 * (keep-alive, pipelining, chunked and Content-Length bodies, HEAD/204/304, POST bodies,
 * 100-continue, some IPv6, some 802.1Q) with optional out-of-order and duplicate segments, and a
 * TSV manifest with one line per request written. Same --seed, same options → same bytes.
 *
 * Streaming: bytes are produced segment by segment straight into the frame being written, so
 * memory is bounded by --conns (a few KB per connection), never by --size. */
#include <arpa/inet.h>
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define FRAME_MAX 1600      /* eth + vlan + ipv6 + tcp(32) + mss payload fits */
#define TEXT_MAX 2048       /* one message's header block */
#define QUEUE_MAX 6         /* messages queued per direction for one exchange */
#define STEPS_MAX 4         /* bursts in one exchange (100-continue needs 4) */
#define FILL_SIZE 65536     /* body filler table (power of two) */
#define NCLIENTS 251        /* client addresses; port = f(connection number / NCLIENTS) */
#define PIPELINE_MAX 4

#define ARRAY_N(a) (sizeof(a) / sizeof((a)[0]))

enum { CLI = 0, SRV = 1 };

static uint32_t min_u32(uint32_t a, uint32_t b)
{
    return a < b ? a : b;
}

static uint64_t min_u64(uint64_t a, uint64_t b)
{
    return a < b ? a : b;
}
enum { TH_FIN = 0x01, TH_SYN = 0x02, TH_RST = 0x04, TH_PSH = 0x08, TH_ACK = 0x10 };

/* ---- deterministic random numbers (splitmix64) ---------------------------------------- */
typedef struct rng {
    uint64_t s; /* state */
} rng;

static uint64_t rng_next(rng *r)
{
    uint64_t z = (r->s += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

/* Uniform in [0, n); n > 0. */
static uint32_t rng_below(rng *r, uint32_t n)
{
    return (uint32_t)((rng_next(r) >> 32) * (uint64_t)n >> 32);
}

static double rng_unit(rng *r)
{
    return (double)(rng_next(r) >> 11) * (1.0 / 9007199254740992.0);
}

static bool rng_pct(rng *r, double pct)
{
    return pct > 0 && rng_unit(r) * 100.0 < pct;
}

static double rng_normal(rng *r)
{
    double u = rng_unit(r), v = rng_unit(r);
    if (u < 1e-300)
        u = 1e-300;
    return sqrt(-2.0 * log(u)) * cos(6.283185307179586 * v);
}

/* exp(N(mu, sigma)) clamped to [lo, hi]. */
static uint32_t rng_lognormal(rng *r, double mu, double sigma, uint32_t lo, uint32_t hi)
{
    double x = exp(mu + sigma * rng_normal(r));
    if (x < lo)
        return lo;
    if (x > hi)
        return hi;
    return (uint32_t)x;
}

/* ---- messages: what one direction sends, produced lazily --------------------------------- */
typedef struct msg {
    char text[TEXT_MAX];  /* header block (or empty for a bare 100-continue body) */
    uint32_t text_len;
    uint32_t body_len;    /* body bytes after the header block (before chunk framing) */
    uint32_t chunk_size;  /* > 0: body is sent chunked with chunks of this size */
    uint32_t salt;        /* where the body starts in the filler table */
    bool burst_end;       /* the sender stops after this message; the peer answers */
} msg;

enum { PH_TEXT, PH_BODY, PH_CHUNK_HEAD, PH_CHUNK_DATA, PH_CHUNK_TAIL, PH_LAST_CHUNK, PH_NEXT };

/* One direction of a connection. */
typedef struct half {
    uint32_t isn;               /* initial sequence number */
    uint32_t next_seq;          /* next sequence number to send */
    uint16_t ip_id;             /* next IPv4 identification */
    uint16_t unacked;           /* data segments the peer has not ACKed yet */
    msg q[QUEUE_MAX];           /* queued messages, q[qhead] is being sent */
    int qhead, qcount;
    int phase;                  /* PH_* within q[qhead] */
    uint32_t off;               /* offset in the text / literal of the current phase */
    uint32_t body_left;         /* body bytes still to send of q[qhead] */
    uint32_t body_pos;          /* body bytes sent so far (filler offset) */
    uint32_t chunk_left;        /* bytes left in the current chunk */
    char lit[24];               /* chunk framing literal being sent */
    uint32_t lit_len;
    uint8_t held[FRAME_MAX];    /* a segment held back to be delivered out of order */
    uint32_t held_len;          /* 0 when nothing is held */
} half;

enum { ST_SYN, ST_SYNACK, ST_HS_ACK, ST_PLAN, ST_DATA, ST_FIN1, ST_FIN2, ST_FIN3, ST_DONE };

typedef struct conn {
    int state;                  /* ST_* */
    rng r;                      /* content randomness, seeded per connection */
    bool v6, vlan;
    uint16_t vlan_id;
    uint8_t cli_ip[16], srv_ip[16];
    uint16_t cli_port, srv_port;
    uint8_t cli_mac[6], srv_mac[6];
    const char *host;           /* Host header value (with :port when not 80) */
    int server;                 /* index in servers[] */
    uint16_t mss;
    int nreq_left;              /* requests still to send */
    bool pipelining;            /* this client pipelines GET/HEAD */
    bool server_closes;         /* the last response says Connection: close */
    int closer;                 /* CLI or SRV: who sends the first FIN */
    int steps[STEPS_MAX];       /* direction of each burst of the current exchange */
    int nsteps, step;
    half h[2];
} conn;

typedef struct gen {
    rng r;                      /* scheduling, reordering, duplication */
    FILE *out, *manifest;
    uint64_t target;            /* stop starting connections after this many file bytes */
    uint64_t written;           /* file bytes written */
    uint64_t frames, conns_started, requests, ooo_frames, dup_frames;
    double ooo_pct, retrans_pct, v6_pct, vlan_pct;
    uint32_t max_body;
    uint64_t now_us;            /* capture clock */
    bool draining;              /* target reached: no new exchanges, close connections */
    conn *slots;
    int nslots;
    uint8_t fill[FILL_SIZE];    /* body filler */
} gen;

typedef struct server {
    const char *host;           /* Host header value */
    uint16_t port;
} server;

static const server servers[] = {
    { "www.example.com", 80 },       { "api.example.com", 80 },
    { "static.example.net", 80 },    { "shop.example.org", 80 },
    { "img.example.com:8080", 8080 }, { "news.example.net", 80 },
    { "login.example.org", 80 },     { "dl.example.com:8080", 8080 },
};

static const char *const user_agents[] = {
    "Mozilla/5.0 (X11; Linux x86_64; rv:120.0) Gecko/20100101 Firefox/120.0",
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/119.0.0.0 Safari/537.36",
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) "
    "Version/17.1 Safari/605.1.15",
    "curl/8.4.0",
    "python-requests/2.31.0",
    "Wget/1.21.4",
};

static const char *const words[] = {
    "alpha", "bravo", "coffee", "delta", "engine", "forest", "garden", "harbor", "island",
    "jungle", "kernel", "lemon", "market", "nebula", "ocean", "packet", "quartz", "river",
    "shark", "tiger", "umbrella", "violet", "window", "xenon", "yellow", "zebra",
};

/* ---- pcap writing --------------------------------------------------------------------- */
static void die(const char *fmt, const char *arg)
{
    fprintf(stderr, "gen_capture: ");
    fprintf(stderr, fmt, arg);
    fprintf(stderr, "\n");
    exit(2);
}

static void out_write(gen *g, const void *p, size_t n)
{
    if (fwrite(p, 1, n, g->out) != n)
        die("cannot write the capture: %s", strerror(errno));
    g->written += n;
}

static void write_pcap_header(gen *g)
{
    struct {
        uint32_t magic;
        uint16_t major, minor;
        int32_t thiszone;
        uint32_t sigfigs, snaplen, linktype;
    } h = { 0xa1b2c3d4u, 2, 4, 0, 0, 65535, 1 /* Ethernet */ };
    out_write(g, &h, sizeof h);
}

static void write_frame(gen *g, const uint8_t *frame, uint32_t len)
{
    g->now_us += 1 + rng_below(&g->r, 60);
    uint32_t rec[4] = { (uint32_t)(g->now_us / 1000000u), (uint32_t)(g->now_us % 1000000u), len,
                        len };
    out_write(g, rec, sizeof rec);
    out_write(g, frame, len);
    g->frames++;
}

/* ---- frame building ------------------------------------------------------------------- */
static void put16(uint8_t *p, uint16_t v)
{
    p[0] = (uint8_t)(v >> 8);
    p[1] = (uint8_t)v;
}

static void put32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v >> 24);
    p[1] = (uint8_t)(v >> 16);
    p[2] = (uint8_t)(v >> 8);
    p[3] = (uint8_t)v;
}

static uint32_t csum_add(uint32_t sum, const uint8_t *p, size_t n)
{
    size_t i = 0;
    for (; i + 1 < n; i += 2)
        sum += (uint32_t)(p[i] << 8 | p[i + 1]);
    if (i < n)
        sum += (uint32_t)(p[i] << 8);
    return sum;
}

static uint16_t csum_fold(uint32_t sum)
{
    while (sum >> 16)
        sum = (sum & 0xffff) + (sum >> 16);
    return (uint16_t)~sum;
}

/* Where the TCP header starts in a frame of c. */
static uint32_t l4_offset(const conn *c)
{
    return 14u + (c->vlan ? 4u : 0u) + (c->v6 ? 40u : 20u);
}

static uint32_t payload_offset(const conn *c, uint32_t opt_len)
{
    return l4_offset(c) + 20u + opt_len;
}

/* Builds one Ethernet/[VLAN]/IP/TCP frame from direction d of c into f; returns its length.
 * The TCP header holds opt_len option bytes (a multiple of 4); the plen payload bytes must
 * already be at f + payload_offset(c, opt_len). Advances the IPv4 id, not the sequence number. */
static uint32_t build_frame(conn *c, int d, uint8_t flags, const uint8_t *opts, uint32_t opt_len,
                            uint32_t plen, uint8_t *f)
{
    half *h = &c->h[d];
    const half *peer = &c->h[!d];
    const uint8_t *src_mac = d == CLI ? c->cli_mac : c->srv_mac;
    const uint8_t *dst_mac = d == CLI ? c->srv_mac : c->cli_mac;
    const uint8_t *src_ip = d == CLI ? c->cli_ip : c->srv_ip;
    const uint8_t *dst_ip = d == CLI ? c->srv_ip : c->cli_ip;
    uint16_t sport = d == CLI ? c->cli_port : c->srv_port;
    uint16_t dport = d == CLI ? c->srv_port : c->cli_port;
    uint32_t tcp_len = 20 + opt_len + plen;
    uint32_t o = 0;

    memcpy(f, dst_mac, 6);
    memcpy(f + 6, src_mac, 6);
    o = 12;
    if (c->vlan) {
        put16(f + o, 0x8100);
        put16(f + o + 2, c->vlan_id);
        o += 4;
    }
    put16(f + o, c->v6 ? 0x86dd : 0x0800);
    o += 2;

    uint32_t sum = 0;
    if (c->v6) {
        uint8_t *ip = f + o;
        put32(ip, 0x60000000u);
        put16(ip + 4, (uint16_t)tcp_len);
        ip[6] = 6;
        ip[7] = 64;
        memcpy(ip + 8, src_ip, 16);
        memcpy(ip + 24, dst_ip, 16);
        sum = csum_add(sum, ip + 8, 32);
        o += 40;
    } else {
        uint8_t *ip = f + o;
        ip[0] = 0x45;
        ip[1] = 0;
        put16(ip + 2, (uint16_t)(20 + tcp_len));
        put16(ip + 4, h->ip_id++);
        put16(ip + 6, 0x4000); /* DF */
        ip[8] = 64;
        ip[9] = 6;
        put16(ip + 10, 0);
        memcpy(ip + 12, src_ip, 4);
        memcpy(ip + 16, dst_ip, 4);
        put16(ip + 10, csum_fold(csum_add(0, ip, 20)));
        sum = csum_add(sum, ip + 12, 8);
        o += 20;
    }
    sum += 6 + tcp_len; /* pseudo-header: protocol and TCP length */

    uint8_t *t = f + o;
    put16(t, sport);
    put16(t + 2, dport);
    put32(t + 4, h->next_seq);
    put32(t + 8, (flags & TH_ACK) ? peer->next_seq : 0);
    t[12] = (uint8_t)(((20 + opt_len) / 4) << 4);
    t[13] = flags;
    put16(t + 14, 64240);
    put16(t + 16, 0);
    put16(t + 18, 0);
    if (opt_len)
        memcpy(t + 20, opts, opt_len);
    put16(t + 16, csum_fold(csum_add(sum, t, tcp_len)));
    return o + tcp_len;
}

/* Delivers a frame of direction d, applying out-of-order holding and duplication to data
 * segments. can_hold is false for the last segment of a burst. */
static void deliver(gen *g, conn *c, int d, const uint8_t *f, uint32_t len, bool data,
                    bool can_hold)
{
    half *h = &c->h[d];
    if (data && can_hold && h->held_len == 0 && rng_pct(&g->r, g->ooo_pct)) {
        memcpy(h->held, f, len);
        h->held_len = len;
        g->ooo_frames++;
        return;
    }
    write_frame(g, f, len);
    if (data && rng_pct(&g->r, g->retrans_pct)) {
        write_frame(g, f, len);
        g->dup_frames++;
    }
    if (data && h->held_len) {
        write_frame(g, h->held, h->held_len);
        h->held_len = 0;
    }
}

static void flush_held(gen *g, conn *c, int d)
{
    half *h = &c->h[d];
    if (h->held_len) {
        write_frame(g, h->held, h->held_len);
        h->held_len = 0;
    }
}

/* A segment with no payload (SYN, ACK, FIN). */
static void send_control(gen *g, conn *c, int d, uint8_t flags)
{
    uint8_t f[FRAME_MAX];
    uint8_t opts[12];
    uint32_t opt_len = 0;
    if (flags & TH_SYN) {
        opts[0] = 2; /* MSS */
        opts[1] = 4;
        put16(opts + 2, c->mss);
        opts[4] = 4; /* SACK permitted */
        opts[5] = 2;
        opts[6] = 1; /* NOP */
        opts[7] = 3; /* window scale 7 */
        opts[8] = 3;
        opts[9] = 7;
        opts[10] = 1;
        opts[11] = 1;
        opt_len = 12;
    }
    uint32_t len = build_frame(c, d, flags, opts, opt_len, 0, f);
    deliver(g, c, d, f, len, false, false);
    if (flags & (TH_SYN | TH_FIN))
        c->h[d].next_seq++;
}

/* ---- message production --------------------------------------------------------------- */
static void fill_body(const gen *g, uint8_t *dst, uint32_t salt, uint32_t pos, uint32_t n)
{
    while (n) {
        uint32_t at = (salt + pos) & (FILL_SIZE - 1);
        uint32_t k = min_u32(n, FILL_SIZE - at);
        memcpy(dst, g->fill + at, k);
        dst += k;
        pos += k;
        n -= k;
    }
}

static void next_message(half *h)
{
    h->qhead = (h->qhead + 1) % QUEUE_MAX;
    h->qcount--;
    h->phase = PH_TEXT;
    h->off = 0;
    h->body_pos = 0;
    if (h->qcount)
        h->body_left = h->q[h->qhead].body_len;
}

static void set_literal(half *h, int phase, const char *s)
{
    h->phase = phase;
    h->lit_len = (uint32_t)strlen(s);
    memcpy(h->lit, s, h->lit_len);
    h->off = 0;
}

/* Produces up to cap bytes of direction h into dst; stops at the end of a burst
 * (*burst_done = true). Returns the byte count. */
static uint32_t produce(const gen *g, half *h, uint8_t *dst, uint32_t cap, bool *burst_done)
{
    uint32_t n = 0;
    *burst_done = false;
    while (n < cap && h->qcount > 0) {
        msg *m = &h->q[h->qhead];
        uint32_t room = cap - n, k;
        switch (h->phase) {
        case PH_TEXT:
            k = min_u32(room, m->text_len - h->off);
            memcpy(dst + n, m->text + h->off, k);
            n += k;
            h->off += k;
            if (h->off < m->text_len)
                break;
            h->off = 0;
            if (m->chunk_size) {
                if (m->body_len == 0) {
                    set_literal(h, PH_LAST_CHUNK, "0\r\n\r\n");
                } else {
                    char line[24];
                    h->chunk_left = min_u32(m->chunk_size, h->body_left);
                    snprintf(line, sizeof line, "%x\r\n", h->chunk_left);
                    set_literal(h, PH_CHUNK_HEAD, line);
                }
            } else {
                h->phase = m->body_len ? PH_BODY : PH_NEXT;
            }
            break;
        case PH_BODY:
            k = min_u32(room, h->body_left);
            fill_body(g, dst + n, m->salt, h->body_pos, k);
            n += k;
            h->body_pos += k;
            h->body_left -= k;
            if (h->body_left == 0)
                h->phase = PH_NEXT;
            break;
        case PH_CHUNK_HEAD:
        case PH_CHUNK_TAIL:
        case PH_LAST_CHUNK:
            k = min_u32(room, h->lit_len - h->off);
            memcpy(dst + n, h->lit + h->off, k);
            n += k;
            h->off += k;
            if (h->off < h->lit_len)
                break;
            if (h->phase == PH_CHUNK_HEAD) {
                h->phase = PH_CHUNK_DATA;
            } else if (h->phase == PH_LAST_CHUNK) {
                h->phase = PH_NEXT;
            } else if (h->body_left == 0) {
                set_literal(h, PH_LAST_CHUNK, "0\r\n\r\n");
            } else {
                char line[24];
                h->chunk_left = min_u32(m->chunk_size, h->body_left);
                snprintf(line, sizeof line, "%x\r\n", h->chunk_left);
                set_literal(h, PH_CHUNK_HEAD, line);
            }
            break;
        case PH_CHUNK_DATA:
            k = min_u32(room, h->chunk_left);
            fill_body(g, dst + n, m->salt, h->body_pos, k);
            n += k;
            h->body_pos += k;
            h->body_left -= k;
            h->chunk_left -= k;
            if (h->chunk_left == 0)
                set_literal(h, PH_CHUNK_TAIL, "\r\n");
            break;
        }
        if (h->phase == PH_NEXT) {
            bool end = m->burst_end;
            next_message(h);
            if (end) {
                *burst_done = true;
                break;
            }
        }
    }
    return n;
}

/* ---- HTTP content ----------------------------------------------------------------------- */
static void fmt_ip(const conn *c, const uint8_t *ip, char *buf, size_t n)
{
    inet_ntop(c->v6 ? AF_INET6 : AF_INET, ip, buf, (socklen_t)n);
}

static void make_uri(rng *r, const char *method, char *uri, size_t n)
{
    const char *w1 = words[rng_below(r, ARRAY_N(words))];
    const char *w2 = words[rng_below(r, ARRAY_N(words))];
    uint32_t id = rng_below(r, 100000);
    if (strcmp(method, "POST") == 0 || strcmp(method, "PUT") == 0) {
        switch (rng_below(r, 4)) {
        case 0: snprintf(uri, n, "/api/v1/%s/%u", w1, id); break;
        case 1: snprintf(uri, n, "/login"); break;
        case 2: snprintf(uri, n, "/upload/%s-%u.bin", w1, id); break;
        default: snprintf(uri, n, "/cart/add?item=%u&qty=%u", id, 1 + rng_below(r, 5)); break;
        }
        return;
    }
    if (strcmp(method, "DELETE") == 0 || strcmp(method, "OPTIONS") == 0) {
        snprintf(uri, n, "/api/v1/%s/%u", w1, id);
        return;
    }
    switch (rng_below(r, 9)) {
    case 0: snprintf(uri, n, "/"); break;
    case 1: snprintf(uri, n, "/index.html"); break;
    case 2: snprintf(uri, n, "/static/js/%s.%08x.js", w1, (uint32_t)rng_next(r)); break;
    case 3: snprintf(uri, n, "/images/%s/%u.jpg", w1, id); break;
    case 4: snprintf(uri, n, "/search?q=%s+%s&page=%u", w1, w2, 1 + rng_below(r, 20)); break;
    case 5: snprintf(uri, n, "/news/%u/%s-%s-%u.html", 2015 + rng_below(r, 10), w1, w2, id); break;
    case 6: snprintf(uri, n, "/download/%s-%u.tar.gz", w1, id); break;
    case 7: snprintf(uri, n, "/api/v1/%s?id=%u&fields=%s.%s", w1, id, w2, w1); break;
    default: snprintf(uri, n, "/css/%s.css?v=%u", w2, rng_below(r, 1000)); break;
    }
}

/* Appends printf output to m->text, never past TEXT_MAX - 1. */
static void text_add(msg *m, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void text_add(msg *m, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    size_t room = TEXT_MAX - m->text_len;
    int k = vsnprintf(m->text + m->text_len, room, fmt, ap);
    va_end(ap);
    if (k < 0)
        return;
    m->text_len += (uint32_t)k < room ? (uint32_t)k : (uint32_t)room - 1;
}

static msg *enqueue(half *h)
{
    if (h->qcount >= QUEUE_MAX) {
        fprintf(stderr, "gen_capture: internal error: message queue full\n");
        exit(3);
    }
    int at = (h->qhead + h->qcount) % QUEUE_MAX;
    msg *m = &h->q[at];
    m->text_len = 0;
    m->salt = 0;
    m->body_len = 0;
    m->chunk_size = 0;
    m->burst_end = false;
    if (h->qcount++ == 0) {
        h->phase = PH_TEXT;
        h->off = 0;
        h->body_pos = 0;
    }
    return m;
}

/* After enqueue filled body_len of the head message, body_left must follow it. */
static void sync_head(half *h)
{
    if (h->qcount && h->phase == PH_TEXT && h->off == 0 && h->body_pos == 0)
        h->body_left = h->q[h->qhead].body_len;
}

static const char *reason(int status)
{
    switch (status) {
    case 100: return "Continue";
    case 200: return "OK";
    case 201: return "Created";
    case 204: return "No Content";
    case 301: return "Moved Permanently";
    case 302: return "Found";
    case 304: return "Not Modified";
    case 404: return "Not Found";
    case 500: return "Internal Server Error";
    default: return "Unknown";
    }
}

static void write_manifest(gen *g, conn *c, const char *method, const char *uri, int status,
                           uint32_t req_body, uint32_t resp_body)
{
    g->requests++;
    if (!g->manifest)
        return;
    char cip[64], sip[64];
    fmt_ip(c, c->cli_ip, cip, sizeof cip);
    fmt_ip(c, c->srv_ip, sip, sizeof sip);
    fprintf(g->manifest, "%s\t%u\t%s\t%u\t%s\t%s\t%s\t%d\t%u\t%u\n", cip, c->cli_port, sip,
            c->srv_port, method, c->host, uri, status, req_body, resp_body);
}

static void add_date(gen *g, msg *m)
{
    time_t t = (time_t)(g->now_us / 1000000u);
    struct tm tm;
    char buf[64];
    gmtime_r(&t, &tm);
    strftime(buf, sizeof buf, "%a, %d %b %Y %H:%M:%S GMT", &tm);
    text_add(m, "Date: %s\r\n", buf);
}

/* Queues one request (and the bursts it needs) and its response. pipelined: this request is
 * one of several sent back to back (no body, no 100-continue); last: last of the group. */
static void plan_request(gen *g, conn *c, bool pipelined, bool last_in_group, bool last_on_conn)
{
    rng *r = &c->r;
    half *cli = &c->h[CLI], *srv = &c->h[SRV];
    const char *method;
    uint32_t pick = rng_below(r, 100);
    if (pipelined)
        method = pick < 85 ? "GET" : "HEAD";
    else if (pick < 68)
        method = "GET";
    else if (pick < 80)
        method = "POST";
    else if (pick < 88)
        method = "HEAD";
    else if (pick < 93)
        method = "PUT";
    else if (pick < 96)
        method = "DELETE";
    else
        method = "OPTIONS";
    bool has_body = strcmp(method, "POST") == 0 || strcmp(method, "PUT") == 0;
    bool is_get_like = strcmp(method, "GET") == 0 || strcmp(method, "HEAD") == 0;
    bool conditional = is_get_like && rng_below(r, 100) < 12;

    char uri[256];
    make_uri(r, method, uri, sizeof uri);

    uint32_t req_body = has_body ? rng_lognormal(r, 6.5, 1.6, 1, min_u32(g->max_body, 262144))
                                 : 0;
    bool expect = has_body && !pipelined && req_body > 1024 && rng_below(r, 100) < 40;

    /* request header block, padded with a cookie toward a 200..800 byte target */
    msg *q = enqueue(cli);
    uint32_t target = 200 + rng_below(r, 601);
    text_add(q, "%s %s HTTP/1.1\r\nHost: %s\r\nUser-Agent: %s\r\n", method, uri, c->host,
             user_agents[c->cli_port % ARRAY_N(user_agents)]);
    text_add(q, "Accept: %s\r\n", is_get_like ? "text/html,application/xhtml+xml,*/*;q=0.8"
                                              : "application/json");
    if (rng_below(r, 2))
        text_add(q, "Accept-Language: en-US,en;q=0.5\r\nAccept-Encoding: gzip, deflate\r\n");
    if (rng_below(r, 3) == 0)
        text_add(q, "Referer: http://%s/%s.html\r\n", c->host, words[rng_below(r, 26)]);
    if (conditional)
        text_add(q, "If-None-Match: \"%08x\"\r\n", (uint32_t)rng_next(r));
    if (has_body)
        text_add(q, "Content-Type: application/x-www-form-urlencoded\r\nContent-Length: %u\r\n",
                 req_body);
    if (expect)
        text_add(q, "Expect: 100-continue\r\n");
    const char *tail = "Connection: keep-alive\r\n\r\n";
    uint32_t need = q->text_len + (uint32_t)strlen(tail) + 12;
    if (need < target) {
        uint32_t pad = target - need;
        text_add(q, "Cookie: sid=");
        for (uint32_t i = 0; i < pad && q->text_len < TEXT_MAX - 64; i++)
            q->text[q->text_len++] = "0123456789abcdef"[rng_below(r, 16)];
        text_add(q, "\r\n");
    }
    text_add(q, "%s", tail);
    q->body_len = expect ? 0 : req_body;
    q->salt = (uint32_t)rng_next(r);
    q->burst_end = !pipelined || last_in_group;
    sync_head(cli);

    if (expect) {
        /* headers → 100 Continue → body → final response */
        msg *cont = enqueue(srv);
        text_add(cont, "HTTP/1.1 100 Continue\r\n\r\n");
        cont->burst_end = true;
        sync_head(srv);
        msg *b = enqueue(cli);
        b->body_len = req_body;
        b->salt = (uint32_t)rng_next(r);
        b->burst_end = true;
        sync_head(cli);
    }

    /* response */
    int status;
    pick = rng_below(r, 100);
    if (conditional)
        status = 304;
    else if (strcmp(method, "DELETE") == 0 || strcmp(method, "OPTIONS") == 0)
        status = pick < 80 ? 204 : 404;
    else if (has_body)
        status = pick < 50 ? 200 : pick < 85 ? 201 : pick < 95 ? 302 : 500;
    else
        status = pick < 88 ? 200 : pick < 94 ? 404 : pick < 96 ? 301 : pick < 98 ? 302 : 500;

    uint32_t body = 0;
    if (status == 200 || status == 201)
        body = rng_lognormal(r, 8.0, 2.0, 0, g->max_body);
    else if (status == 404 || status == 500 || status == 301 || status == 302)
        body = 100 + rng_below(r, 400);
    if (status == 204 || status == 304)
        body = 0;
    bool chunked = body > 0 && status == 200 && rng_below(r, 100) < 22;
    bool head = strcmp(method, "HEAD") == 0;
    bool close = last_on_conn && c->server_closes;

    msg *p = enqueue(srv);
    text_add(p, "HTTP/1.1 %d %s\r\n", status, reason(status));
    add_date(g, p);
    text_add(p, "Server: nginx/1.24.0\r\n");
    if (status != 204 && status != 304) {
        text_add(p, "Content-Type: %s\r\n",
                 strstr(uri, ".jpg") || strstr(uri, ".tar") ? "application/octet-stream"
                                                        : "text/html; charset=utf-8");
        if (chunked)
            text_add(p, "Transfer-Encoding: chunked\r\n");
        else
            text_add(p, "Content-Length: %u\r\n", body);
    }
    if (status == 200 || status == 304) {
        /* one random draw per statement: argument evaluation order is unspecified */
        uint32_t etag = (uint32_t)rng_next(r);
        uint32_t max_age = 60 * (1 + rng_below(r, 60));
        text_add(p, "ETag: \"%08x\"\r\nCache-Control: max-age=%u\r\n", etag, max_age);
    }
    if (status == 301 || status == 302)
        text_add(p, "Location: http://%s/%s/\r\n", c->host, words[rng_below(r, 26)]);
    text_add(p, "Connection: %s\r\n\r\n", close ? "close" : "keep-alive");
    p->body_len = head ? 0 : body;
    p->chunk_size = chunked && !head ? 512u * (1 + rng_below(r, 32)) : 0;
    p->salt = (uint32_t)rng_next(r);
    p->burst_end = !pipelined || last_in_group;
    sync_head(srv);

    write_manifest(g, c, method, uri, status, req_body, head ? 0 : body);
}

/* Plans the next exchange of c: one request, or a pipelined group of GET/HEAD. */
static void plan_exchange(gen *g, conn *c)
{
    int k = 1;
    if (c->pipelining && c->nreq_left >= 2)
        k = 2 + (int)rng_below(&c->r, PIPELINE_MAX - 1);
    if (k > c->nreq_left)
        k = c->nreq_left;
    c->nsteps = 0;
    c->step = 0;
    for (int i = 0; i < k; i++) {
        int before = c->h[SRV].qcount;
        plan_request(g, c, k > 1, i == k - 1, c->nreq_left - 1 == 0);
        c->nreq_left--;
        if (k == 1 && c->h[SRV].qcount - before == 2) {
            /* 100-continue: four bursts */
            c->steps[0] = CLI;
            c->steps[1] = SRV;
            c->steps[2] = CLI;
            c->steps[3] = SRV;
            c->nsteps = 4;
        }
    }
    if (c->nsteps == 0) {
        c->steps[0] = CLI;
        c->steps[1] = SRV;
        c->nsteps = 2;
    }
}

/* ---- connections ---------------------------------------------------------------------- */
static void start_conn(gen *g, conn *c)
{
    uint64_t k = g->conns_started++;
    memset(c, 0, sizeof *c);
    c->r.s = rng_next(&g->r);
    rng *r = &c->r;
    uint32_t ci = (uint32_t)(k % NCLIENTS);
    uint32_t round = (uint32_t)(k / NCLIENTS);
    c->server = (int)rng_below(r, ARRAY_N(servers));
    c->host = servers[c->server].host;
    c->srv_port = servers[c->server].port;
    /* 7919 is prime and does not divide 28000: ports repeat only after 28000 rounds */
    c->cli_port = (uint16_t)(32768 + (uint32_t)(((uint64_t)round * 7919u + ci * 13u) % 28000u));
    c->v6 = rng_pct(r, g->v6_pct);
    c->vlan = rng_pct(r, g->vlan_pct);
    c->vlan_id = (uint16_t)(10 + rng_below(r, 4000));
    c->mss = c->v6 ? 1440 : 1460;
    if (c->v6) {
        static const uint8_t cpre[8] = { 0x20, 0x01, 0x0d, 0xb8, 0, 1, 0, 0 };
        static const uint8_t spre[8] = { 0x20, 0x01, 0x0d, 0xb8, 0, 0x80, 0, 0 };
        memcpy(c->cli_ip, cpre, 8);
        c->cli_ip[14] = (uint8_t)((ci + 1) >> 8);
        c->cli_ip[15] = (uint8_t)(ci + 1);
        memcpy(c->srv_ip, spre, 8);
        c->srv_ip[15] = (uint8_t)(0x10 + c->server);
    } else {
        c->cli_ip[0] = 10;
        c->cli_ip[1] = 1;
        c->cli_ip[2] = (uint8_t)((ci + 1) >> 8);
        c->cli_ip[3] = (uint8_t)(ci + 1);
        c->srv_ip[0] = 192;
        c->srv_ip[1] = 0;
        c->srv_ip[2] = 2;
        c->srv_ip[3] = (uint8_t)(10 + c->server);
    }
    static const uint8_t cmac[6] = { 0x02, 0x00, 0x00, 0x00, 0x00, 0x00 };
    static const uint8_t smac[6] = { 0x02, 0x00, 0x01, 0x00, 0x00, 0x00 };
    memcpy(c->cli_mac, cmac, 6);
    c->cli_mac[4] = (uint8_t)((ci + 1) >> 8);
    c->cli_mac[5] = (uint8_t)(ci + 1);
    memcpy(c->srv_mac, smac, 6);
    c->srv_mac[5] = (uint8_t)c->server;
    /* some initial sequence numbers sit just below the 32-bit wrap */
    for (int d = 0; d < 2; d++) {
        uint32_t isn = (uint32_t)rng_next(r);
        if (rng_below(r, 20) == 0)
            isn = 0xffffffffu - rng_below(r, 20000);
        c->h[d].isn = isn;
        c->h[d].next_seq = isn;
        c->h[d].ip_id = (uint16_t)rng_next(r);
    }
    c->nreq_left = 1 + (int)rng_lognormal(r, 0.8, 0.9, 0, 40);
    c->pipelining = rng_below(r, 100) < 12;
    c->server_closes = rng_below(r, 100) < 35;
    c->closer = c->server_closes ? SRV : (rng_below(r, 4) == 0 ? SRV : CLI);
    c->state = ST_SYN;
}

/* Sends the next segment of the current burst, with the receiver's ACKs. */
static void send_segment(gen *g, conn *c)
{
    int d = c->steps[c->step];
    half *h = &c->h[d];
    uint8_t f[FRAME_MAX];
    bool burst_done;
    uint32_t plen = produce(g, h, f + payload_offset(c, 0), c->mss, &burst_done);
    uint32_t len = build_frame(c, d, (uint8_t)(TH_ACK | (burst_done ? TH_PSH : 0)), NULL, 0, plen,
                               f);
    deliver(g, c, d, f, len, true, !burst_done);
    h->next_seq += plen;
    c->h[!d].unacked++;
    if (burst_done) {
        flush_held(g, c, d);
        send_control(g, c, !d, TH_ACK);
        c->h[!d].unacked = 0;
        if (++c->step >= c->nsteps)
            c->state = ST_PLAN;
    } else if (c->h[!d].unacked >= 2 && h->held_len == 0) {
        /* the receiver ACKs every second segment, never past a segment still in flight */
        send_control(g, c, !d, TH_ACK);
        c->h[!d].unacked = 0;
    }
}

/* Advances c by one step (one segment plus any ACK it triggers). */
static void conn_step(gen *g, conn *c)
{
    switch (c->state) {
    case ST_SYN:
        send_control(g, c, CLI, TH_SYN);
        c->state = ST_SYNACK;
        break;
    case ST_SYNACK:
        send_control(g, c, SRV, TH_SYN | TH_ACK);
        c->state = ST_HS_ACK;
        break;
    case ST_HS_ACK:
        send_control(g, c, CLI, TH_ACK);
        c->state = ST_PLAN;
        break;
    case ST_PLAN:
        if (c->nreq_left <= 0 || g->draining) {
            c->state = ST_FIN1;
            break;
        }
        plan_exchange(g, c);
        c->state = ST_DATA;
        send_segment(g, c);
        break;
    case ST_DATA:
        send_segment(g, c);
        break;
    case ST_FIN1:
        send_control(g, c, c->closer, TH_FIN | TH_ACK);
        c->state = ST_FIN2;
        break;
    case ST_FIN2:
        send_control(g, c, !c->closer, TH_FIN | TH_ACK);
        c->state = ST_FIN3;
        break;
    case ST_FIN3:
        send_control(g, c, c->closer, TH_ACK);
        c->state = ST_DONE;
        break;
    default:
        break;
    }
}

/* ---- options and main ----------------------------------------------------------------- */
static uint64_t parse_size(const char *s, const char *opt)
{
    char *end;
    errno = 0;
    double v = strtod(s, &end);
    if (errno || end == s || v < 0)
        die("bad value for %s (want a size like 1G, 20M, 500K or bytes)", opt);
    uint64_t mult = 1;
    if (*end == 'k' || *end == 'K')
        mult = 1024;
    else if (*end == 'm' || *end == 'M')
        mult = 1024 * 1024;
    else if (*end == 'g' || *end == 'G')
        mult = 1024ULL * 1024 * 1024;
    else if (*end)
        die("bad value for %s (want a size like 1G, 20M, 500K or bytes)", opt);
    return (uint64_t)(v * (double)mult);
}

static uint64_t parse_count(const char *s, const char *opt)
{
    char *end;
    errno = 0;
    unsigned long long v = strtoull(s, &end, 10);
    if (errno || end == s || *end || *s == '-')
        die("bad value for %s (want a whole number)", opt);
    return (uint64_t)v;
}

static double parse_pct(const char *s, const char *opt)
{
    char *end;
    errno = 0;
    double v = strtod(s, &end);
    if (errno || end == s || *end || v < 0 || v > 100)
        die("bad value for %s (want a percentage 0..100)", opt);
    return v;
}

static void usage(FILE *f)
{
    fprintf(f,
            "usage: gen_capture -o FILE [--manifest FILE] [--size BYTES] [--seed N] [--conns N]\n"
            "                   [--ooo PCT] [--retrans PCT] [--max-body BYTES] [--v6 PCT] "
            "[--vlan PCT]\n"
            "Writes a deterministic pcap of interleaved HTTP/1.1 connections.\n"
            "  --size BYTES     target file size (K/M/G suffixes, binary), default 1M; no exchange\n"
            "                   starts past it, those in flight finish (the file ends a little over)\n"
            "  --seed N         random seed, default 1\n"
            "  --conns N        concurrent connections, default 64\n"
            "  --ooo PCT        percent of data segments delivered after the next one, default 2\n"
            "                   (never the last segment of a burst: nothing follows it)\n"
            "  --retrans PCT    percent of data segments duplicated, default 0\n"
            "  --max-body BYTES largest response body, default 1M\n"
            "  --v6 PCT         percent of IPv6 connections, default 15\n"
            "  --vlan PCT       percent of 802.1Q-tagged connections, default 10\n"
            "  --manifest FILE  TSV, one line per request: client_ip client_port server_ip\n"
            "                   server_port method host uri status req_body_len resp_body_len\n");
}

int main(int argc, char **argv)
{
    static gen g; /* large (filler table): static, not on the stack */
    const char *out_path = NULL, *manifest_path = NULL;
    uint64_t seed = 1, conns = 64;
    g.target = 1024 * 1024;
    g.ooo_pct = 2;
    g.retrans_pct = 0;
    g.v6_pct = 15;
    g.vlan_pct = 10;
    g.max_body = 1024 * 1024;

    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) {
            usage(stdout);
            return 0;
        }
        if (!v)
            die("option %s needs a value (see --help)", a);
        i++;
        if (strcmp(a, "-o") == 0)
            out_path = v;
        else if (strcmp(a, "--manifest") == 0)
            manifest_path = v;
        else if (strcmp(a, "--size") == 0)
            g.target = parse_size(v, a);
        else if (strcmp(a, "--seed") == 0)
            seed = parse_count(v, a);
        else if (strcmp(a, "--conns") == 0)
            conns = parse_count(v, a);
        else if (strcmp(a, "--ooo") == 0)
            g.ooo_pct = parse_pct(v, a);
        else if (strcmp(a, "--retrans") == 0)
            g.retrans_pct = parse_pct(v, a);
        else if (strcmp(a, "--v6") == 0)
            g.v6_pct = parse_pct(v, a);
        else if (strcmp(a, "--vlan") == 0)
            g.vlan_pct = parse_pct(v, a);
        else if (strcmp(a, "--max-body") == 0)
            g.max_body = (uint32_t)min_u64(parse_size(v, a), 64ULL * 1024 * 1024);
        else
            die("unknown option %s (see --help)", a);
    }
    if (!out_path)
        die("%s", "no output file: give -o FILE (see --help)");
    if (conns < 1 || conns > 100000)
        die("%s", "--conns must be between 1 and 100000");

    g.r.s = seed;
    rng fr = { seed ^ 0x5eed5eedULL };
    static const char alphabet[] = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789 \n";
    for (size_t i = 0; i < FILL_SIZE; i++)
        g.fill[i] = (uint8_t)alphabet[rng_below(&fr, sizeof alphabet - 1)];
    g.now_us = 1700000000ULL * 1000000ULL;

    g.out = strcmp(out_path, "-") == 0 ? stdout : fopen(out_path, "wb");
    if (!g.out)
        die("cannot create the capture: %s", out_path);
    static char obuf[1 << 20];
    setvbuf(g.out, obuf, _IOFBF, sizeof obuf);
    if (manifest_path) {
        g.manifest = fopen(manifest_path, "w");
        if (!g.manifest)
            die("cannot create the manifest: %s", manifest_path);
        fprintf(g.manifest, "client_ip\tclient_port\tserver_ip\tserver_port\tmethod\thost\turi\t"
                            "status\treq_body_len\tresp_body_len\n");
    }

    g.nslots = (int)conns;
    g.slots = calloc((size_t)g.nslots, sizeof *g.slots);
    if (!g.slots)
        die("%s", "out of memory for the connection slots (lower --conns)");
    write_pcap_header(&g);
    for (int i = 0; i < g.nslots; i++)
        start_conn(&g, &g.slots[i]);

    /* slots [0, active) hold live connections; a finished one restarts until the target is
     * reached, then it is swapped out of the live range */
    int active = g.nslots;
    while (active > 0) {
        int i = (int)rng_below(&g.r, (uint32_t)active);
        conn *c = &g.slots[i];
        conn_step(&g, c);
        if (!g.draining && g.written >= g.target)
            g.draining = true;
        if (c->state == ST_DONE) {
            if (!g.draining) {
                start_conn(&g, c);
            } else {
                active--;
                if (i != active)
                    g.slots[i] = g.slots[active];
            }
        }
    }

    if (fflush(g.out) != 0 || (g.out != stdout && fclose(g.out) != 0))
        die("cannot write the capture: %s", strerror(errno));
    if (g.manifest && fclose(g.manifest) != 0)
        die("cannot write the manifest: %s", strerror(errno));
    free(g.slots);
    fprintf(stderr,
            "gen_capture: %llu bytes, %llu frames, %llu connections, %llu requests, "
            "%llu out-of-order, %llu duplicated\n",
            (unsigned long long)g.written, (unsigned long long)g.frames,
            (unsigned long long)g.conns_started, (unsigned long long)g.requests,
            (unsigned long long)g.ooo_frames, (unsigned long long)g.dup_frames);
    return 0;
}
