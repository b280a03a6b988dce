/* cmd_conn.c — `moonshark conn FILE...`: one line per TCP connection, UDP flow and ICMP flow with
 * Zeek conn.log's fields (and `close`, why it ended), written when the connection leaves its
 * table, as Zeek writes conn.log. TCP comes from the assembler (state, history, gaps, late
 * packets); UDP and ICMP from a bounded flow table here (Zeek's flow semantics: a minute idle
 * ends a flow). Table, TSV or JSON lines (engine/output/output.h), or DIR/conn.log with -w. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "cli/commands.h"
#include "dispatch/dispatch.h"
#include "tcp/tcp.h"

static const char conn_usage[] =
    "usage: moonshark conn [OPTIONS] CAPTURE... [FILTER EXPRESSION]\n"
    "       moonshark conn -i IFACE [OPTIONS] [FILTER EXPRESSION]\n"
    "\n"
    "One line per connection: TCP connections, UDP flows and ICMP flows, with Zeek conn.log's\n"
    "fields, so Zeek tooling reads them:\n"
    "  ts uid id.orig_h id.orig_p id.resp_h id.resp_p proto service duration orig_bytes\n"
    "  resp_bytes conn_state local_orig local_resp missed_bytes history orig_pkts orig_ip_bytes\n"
    "  resp_pkts resp_ip_bytes tunnel_parents ip_proto, and close (fin, rst, idle, flush, evicted)\n"
    "orig is the side that sent the SYN (TCP), else the first packet's sender; a UDP flow whose\n"
    "first sender uses a well-known server port (53, 67, 123, ...) is turned round (history ^).\n"
    "ICMP flows are keyed like Zeek's: id.orig_p is the ICMP type, id.resp_p its counterpart (echo\n"
    "request 8 and reply 0 share a flow) or, for one-way messages, the code. Bytes are payload\n"
    "bytes (TCP: delivered + missed in gaps; UDP: datagram payload; ICMP: after its 8-byte\n"
    "header); ip_bytes count the IP total length of every packet. As in Zeek, duration and the\n"
    "byte counts are unset when the connection lasted no time (a single packet). conn_state\n"
    "and history use Zeek's codes (S0 S1 SF REJ S2 S3 RSTO RSTR RSTOS0 RSTRH SH SHR OTH;\n"
    "ShADadFfRrTtGg^). service is set where the first payload bytes show it: http, ssl, ssh,\n"
    "smtp, ftp (TCP), dns, dhcp, ntp (UDP). local_orig, local_resp and tunnel_parents are\n"
    "never set (no local networks are configured; a tunnel's inner connections are logged,\n"
    "not the tunnel itself).\n"
    "\n"
    "Lines come out when connections leave their table: TCP --gap-timeout (default 30 s of\n"
    "capture time) after FIN both ways or RST (late packets such as the last ACK are counted),\n"
    "after --idle-timeout (default 300 s) without packets; UDP and ICMP after 60 s without\n"
    "packets; everything at the end of the input. A new SYN on a closed connection's ports\n"
    "starts a new connection, and so does new data without a SYN 5 s or more after the close.\n"
    "Live (-i), capture time follows the wall clock while the interface is idle.\n"
    "\n"
    "Output: --json | --tsv | --table (default: table on a terminal, TSV otherwise), -w DIR\n"
    "  (DIR/conn.log), -l (each line at once; always so live), -Y EXPR and -e FIELD (filter\n"
    "  and choose fields, see 'moonshark http --help').\n"
    "Input: CAPTURE files (pcap, pcapng, .gz; '-' for stdin), -r FILE, -i IFACE, -f EXPR or a\n"
    "  trailing FILTER EXPRESSION (BPF), --snaplen N, --no-promisc, -n (no effect).\n"
    "Limits: --max-conns N (TCP connections, and UDP/ICMP flows, held at once), --max-pages N,\n"
    "  --gap-timeout S, --idle-timeout S. Reporting: --stats (assembler and flow counters, lines\n"
    "  written), --seed N, -q, -h.\n";

enum {
    F_TS, F_UID, F_ORIG_H, F_ORIG_P, F_RESP_H, F_RESP_P, F_PROTO, F_SERVICE, F_DURATION, F_ORIG_BYTES,
    F_RESP_BYTES, F_CONN_STATE, F_LOCAL_ORIG, F_LOCAL_RESP, F_MISSED, F_HISTORY, F_ORIG_PKTS,
    F_ORIG_IP_BYTES, F_RESP_PKTS, F_RESP_IP_BYTES, F_TUNNEL_PARENTS, F_IP_PROTO, F_CLOSE, F_COUNT
};

static const ms_field_def conn_fields[F_COUNT] = {
    { "ts", MS_FIELD_TIME },
    { "uid", MS_FIELD_STRING },
    { "id.orig_h", MS_FIELD_ADDR },
    { "id.orig_p", MS_FIELD_PORT },
    { "id.resp_h", MS_FIELD_ADDR },
    { "id.resp_p", MS_FIELD_PORT },
    { "proto", MS_FIELD_STRING },
    { "service", MS_FIELD_STRING },
    { "duration", MS_FIELD_INTERVAL },
    { "orig_bytes", MS_FIELD_COUNT },
    { "resp_bytes", MS_FIELD_COUNT },
    { "conn_state", MS_FIELD_STRING },
    { "local_orig", MS_FIELD_BOOL },
    { "local_resp", MS_FIELD_BOOL },
    { "missed_bytes", MS_FIELD_COUNT },
    { "history", MS_FIELD_STRING },
    { "orig_pkts", MS_FIELD_COUNT },
    { "orig_ip_bytes", MS_FIELD_COUNT },
    { "resp_pkts", MS_FIELD_COUNT },
    { "resp_ip_bytes", MS_FIELD_COUNT },
    { "tunnel_parents", MS_FIELD_SET },
    { "ip_proto", MS_FIELD_COUNT },
    { "close", MS_FIELD_STRING },
};

#define FLOW_IDLE_NS (60ULL * 1000000000ULL) /* Zeek's udp_ and icmp_inactivity_timeout */
#define FLOW_DEFAULT_MAX 65536

/* A UDP or ICMP flow. Counters are by role: [0] the originator, [1] the responder. */
typedef struct flow {
    ms_flow_key key;          /* ICMP: ports are the type and its counterpart (or the code) */
    uint64_t hash;
    int orig_side;            /* side of the key (0 = a, 1 = b) that originated */
    bool flipped;             /* the first sender was taken for the responder (history ^) */
    uint64_t first_ts, last_ts;
    uint64_t pkts[2], bytes[2], ip_bytes[2];
    const char *service;
    char uid[24];
    char parent[24];          /* uid of the tunnel flow carrying it, or "" */
    struct flow *hnext;       /* bucket chain, or the free list */
    struct flow *older, *newer; /* least recently seen first */
} flow;

/* What conn keeps per TCP connection (the assembler's stream): the first bytes each side sent,
 * enough to name the service. Freed when the connection leaves the table. */
typedef struct tcp_sniff {
    uint8_t head[2][8];
    uint8_t len[2];
    char parent[24];          /* uid of the tunnel flow carrying it, or "" */
} tcp_sniff;

typedef struct conn_run {
    ms_tcp_assembler *a;
    ms_output *out;
    const ms_cli_opts *opts;
    /* UDP and ICMP flows */
    flow *pool;
    uint32_t max_flows, pool_used;
    flow *free_flows;
    flow **buckets;
    uint64_t nbuckets;        /* power of two */
    flow *oldest, *newest;
    uint64_t udp_seed, icmp_seed;
    char tunnel_uid[24];      /* the innermost tunnel flow of the packet being read, or "" */
    uint64_t flows_udp, flows_icmp, flows_evicted, other_packets;
} conn_run;

/* ---- one line ------------------------------------------------------------------------------ */

typedef struct conn_line {
    uint64_t ts, last_ts;
    const char *uid, *proto, *service, *state, *history, *close, *parent;
    ms_endpoint orig, resp;
    uint64_t bytes[2], pkts[2], ip_bytes[2], missed;
    uint8_t ip_proto;
} conn_line;

static void write_line(conn_run *r, const conn_line *l)
{
    char addr[64];
    ms_output *out = r->out;
    ms_output_begin(out);
    ms_output_time(out, F_TS, l->ts);
    ms_output_cstr(out, F_UID, l->uid);
    ms_output_cstr(out, F_ORIG_H, ms_addr_format(l->orig.addr, l->orig.family, addr, sizeof addr));
    ms_output_uint(out, F_ORIG_P, l->orig.port);
    ms_output_cstr(out, F_RESP_H, ms_addr_format(l->resp.addr, l->resp.family, addr, sizeof addr));
    ms_output_uint(out, F_RESP_P, l->resp.port);
    ms_output_cstr(out, F_PROTO, l->proto);
    if (l->service)
        ms_output_cstr(out, F_SERVICE, l->service);
    if (l->last_ts > l->ts) { /* as Zeek: no duration or byte counts for a connection of no time */
        ms_output_int(out, F_DURATION, (int64_t)(l->last_ts - l->ts));
        ms_output_uint(out, F_ORIG_BYTES, l->bytes[0]);
        ms_output_uint(out, F_RESP_BYTES, l->bytes[1]);
    }
    ms_output_cstr(out, F_CONN_STATE, l->state);
    ms_output_uint(out, F_MISSED, l->missed);
    if (l->history && l->history[0])
        ms_output_cstr(out, F_HISTORY, l->history);
    ms_output_uint(out, F_ORIG_PKTS, l->pkts[0]);
    ms_output_uint(out, F_ORIG_IP_BYTES, l->ip_bytes[0]);
    ms_output_uint(out, F_RESP_PKTS, l->pkts[1]);
    ms_output_uint(out, F_RESP_IP_BYTES, l->ip_bytes[1]);
    if (l->parent && l->parent[0])
        ms_output_set_add(out, F_TUNNEL_PARENTS, l->parent, strlen(l->parent));
    ms_output_uint(out, F_IP_PROTO, l->ip_proto);
    ms_output_cstr(out, F_CLOSE, l->close);
    ms_output_end(out);
}

/* ---- TCP ----------------------------------------------------------------------------------- */

/* Zeek's conn_state from what each side sent (SYN, SYN-ACK, FIN, RST). */
static const char *conn_state(const ms_tcp_conn_info *in)
{
    const ms_tcp_half_stats *o = &in->half[MS_TCP_CLIENT], *r = &in->half[MS_TCP_SERVER];
    bool syn = o->syn && !in->client_guessed, synack = r->syn;
    if (syn && !synack) {
        if (r->rst)
            return "REJ";
        if (o->rst)
            return "RSTOS0";
        if (o->fin)
            return "SH";
        if (r->packets == 0)
            return "S0";
        return r->fin ? "S3" : "S1";
    }
    if (!syn && synack) {
        if (r->rst)
            return "RSTRH";
        if (r->fin)
            return "SHR";
        return "OTH";
    }
    if (!syn && !synack)
        return "OTH";
    if (o->rst)
        return "RSTO";
    if (r->rst)
        return "RSTR";
    if (o->fin && r->fin)
        return "SF";
    if (o->fin)
        return "S2";
    if (r->fin)
        return "S3";
    return "S1";
}

static bool starts(const uint8_t *p, size_t n, const char *s)
{
    size_t k = strlen(s);
    return n >= k && memcmp(p, s, k) == 0;
}

/* The service a TCP connection's first bytes show (client c, server s), or NULL. */
static const char *tcp_service(const tcp_sniff *t)
{
    static const char *const methods[] = { "GET ", "POST ", "HEAD ", "PUT ", "DELETE ", "OPTIONS ",
                                           "CONNECT ", "TRACE ", "PATCH " };
    const uint8_t *c = t->head[MS_TCP_CLIENT], *s = t->head[MS_TCP_SERVER];
    size_t cn = t->len[MS_TCP_CLIENT], sn = t->len[MS_TCP_SERVER];
    if (starts(s, sn, "HTTP/1."))
        return "http";
    for (size_t i = 0; i < MS_ARRAY_LEN(methods); i++)
        if (starts(c, cn, methods[i]))
            return "http";
    /* a TLS handshake record: type 22, version 3.x */
    if ((cn >= 3 && c[0] == 0x16 && c[1] == 3 && c[2] <= 4) || (sn >= 3 && s[0] == 0x16 && s[1] == 3 && s[2] <= 4))
        return "ssl";
    if (starts(c, cn, "SSH-") || starts(s, sn, "SSH-"))
        return "ssh";
    if (starts(s, sn, "220")) {
        if (starts(c, cn, "EHLO") || starts(c, cn, "HELO") || starts(c, cn, "ehlo") || starts(c, cn, "helo"))
            return "smtp";
        if (starts(c, cn, "USER") || starts(c, cn, "user") || starts(c, cn, "AUTH"))
            return "ftp";
    }
    return NULL;
}

static void *on_new(void *factory, ms_tcp_conn *conn, const ms_tcp_segment *first, int dir)
{
    (void)conn, (void)first, (void)dir;
    conn_run *r = factory;
    tcp_sniff *t = calloc(1, sizeof *t); /* NULL (out of memory): no service, nothing else lost */
    if (t)
        memcpy(t->parent, r->tunnel_uid, sizeof t->parent);
    return t;
}

/* Keeps the first bytes of each side; the rest only passes by. */
static void on_data(void *stream, ms_tcp_view *view)
{
    tcp_sniff *t = stream;
    int d = view->dir & 1;
    if (t->len[d] >= sizeof t->head[d] || view->len == 0)
        return;
    t->len[d] = (uint8_t)ms_tcp_view_copy(view, 0, t->head[d] + t->len[d], sizeof t->head[d] - t->len[d]) + t->len[d];
}

/* Written when the connection leaves the assembler (after the linger that counts late packets,
 * such as the last ACK), as Zeek writes conn.log at removal. */
static void on_removed(void *factory, const ms_tcp_conn *conn)
{
    conn_run *r = factory;
    const ms_tcp_conn_info *in = ms_tcp_conn_get_info(conn);
    const ms_tcp_half_stats *o = &in->half[MS_TCP_CLIENT], *s = &in->half[MS_TCP_SERVER];
    tcp_sniff *t = ms_tcp_conn_user(conn);
    conn_line l = {
        .ts = in->first_ts_ns, .last_ts = in->last_ts_ns, .uid = in->uid, .proto = "tcp",
        .service = t ? tcp_service(t) : NULL, .state = conn_state(in), .history = in->history,
        .parent = t ? t->parent : NULL,
        .close = ms_tcp_close_reason_name(in->close_reason), .orig = in->client, .resp = in->server,
        .bytes = { o->bytes_delivered + o->bytes_skipped, s->bytes_delivered + s->bytes_skipped },
        .pkts = { o->packets, s->packets }, .ip_bytes = { o->ip_bytes, s->ip_bytes },
        .missed = o->bytes_skipped + s->bytes_skipped, .ip_proto = 6,
    };
    write_line(r, &l);
    free(t);
}

/* ---- UDP and ICMP flows ---------------------------------------------------------------------- */

/* Ports servers answer on: a first datagram from one of them (and not to one) is an answer. */
static bool udp_server_port(uint16_t p)
{
    static const uint16_t ports[] = { 53, 67, 69, 88, 123, 137, 138, 161, 162, 389, 443, 500, 514,
                                      520, 1194, 1812, 1813, 1900, 3478, 4500, 5060, 5353, 5355 };
    for (size_t i = 0; i < MS_ARRAY_LEN(ports); i++)
        if (ports[i] == p)
            return true;
    return false;
}

/* The service a UDP datagram shows (its ports and first bytes), or NULL. */
static const char *udp_service(const flow *f, const uint8_t *p, size_t n)
{
    uint16_t a = f->key.a_port, b = f->key.b_port;
    if ((a == 53 || b == 53 || a == 5353 || b == 5353) && n >= 12)
        return "dns";
    if ((a == 67 || b == 67 || a == 68 || b == 68) && n >= 240 && p[236] == 0x63 && p[237] == 0x82 &&
        p[238] == 0x53 && p[239] == 0x63)
        return "dhcp";
    if ((a == 123 || b == 123) && n >= 48 && ((p[0] >> 3) & 7) >= 1 && ((p[0] >> 3) & 7) <= 4)
        return "ntp";
    return NULL;
}

/* ICMP "ports" as Zeek keys them: the type, and the type of the answer for request/answer pairs
 * (so both share a flow), else the code. *one_way says which. */
static uint16_t icmp_counterpart(bool v6, uint8_t type, uint8_t code, bool *one_way)
{
    static const uint8_t pairs4[][2] = { { 8, 0 }, { 13, 14 }, { 15, 16 }, { 17, 18 }, { 10, 9 } };
    static const uint8_t pairs6[][2] = { { 128, 129 }, { 133, 134 }, { 135, 136 }, { 130, 131 }, { 139, 140 } };
    const uint8_t(*pairs)[2] = v6 ? pairs6 : pairs4;
    *one_way = false;
    for (size_t i = 0; i < MS_ARRAY_LEN(pairs4); i++) {
        if (pairs[i][0] == type)
            return pairs[i][1];
        if (pairs[i][1] == type)
            return pairs[i][0];
    }
    *one_way = true;
    return code;
}

static void flow_unlink(conn_run *r, flow *f)
{
    if (f->older)
        f->older->newer = f->newer;
    else
        r->oldest = f->newer;
    if (f->newer)
        f->newer->older = f->older;
    else
        r->newest = f->older;
    f->older = f->newer = NULL;
}

static void flow_push_newest(conn_run *r, flow *f)
{
    f->older = r->newest;
    f->newer = NULL;
    if (r->newest)
        r->newest->newer = f;
    else
        r->oldest = f;
    r->newest = f;
}

/* Writes the flow's line and returns it to the free list. */
static void flow_close(conn_run *r, flow *f, const char *reason)
{
    flow **pp = &r->buckets[f->hash & (r->nbuckets - 1)];
    while (*pp && *pp != f)
        pp = &(*pp)->hnext;
    if (*pp)
        *pp = f->hnext;
    flow_unlink(r, f);
    bool icmp = f->key.proto == 1 || f->key.proto == 58;
    char history[4] = "";
    const char *state = "OTH";
    if (!icmp) {
        size_t h = 0;
        if (f->flipped)
            history[h++] = '^';
        if (f->bytes[0] || f->pkts[0])
            history[h++] = 'D';
        if (f->bytes[1] || f->pkts[1])
            history[h++] = 'd';
        history[h] = '\0';
        state = f->pkts[1] ? (f->pkts[0] ? "SF" : "SHR") : "S0";
    }
    conn_line l = {
        .ts = f->first_ts, .last_ts = f->last_ts, .uid = f->uid,
        .proto = icmp ? "icmp" : "udp", .service = f->service, .state = state, .history = history,
        .close = reason, .parent = f->parent, .orig = ms_flow_endpoint(&f->key, f->orig_side),
        .resp = ms_flow_endpoint(&f->key, f->orig_side ^ 1),
        .bytes = { f->bytes[0], f->bytes[1] }, .pkts = { f->pkts[0], f->pkts[1] },
        .ip_bytes = { f->ip_bytes[0], f->ip_bytes[1] }, .ip_proto = f->key.proto,
    };
    write_line(r, &l);
    f->hnext = r->free_flows;
    r->free_flows = f;
}

/* The key of a UDP or ICMP packet, the side (of the key) that sent it, and for UDP the payload
 * bytes its header counts; false when the packet is neither. */
static bool flow_key_of(ms_packet *pkt, ms_flow_key *key, int *sender, uint64_t *bytes, bool *one_way)
{
    const ms_packet_net *n = &pkt->net;
    *one_way = false;
    if (n->proto == 17) {
        const ms_layer *u = ms_packet_layer(pkt, MS_LAYER_UDP);
        int kdir;
        if (!u || ms_flow_key_of(pkt, key, &kdir) != 0)
            return false;
        uint32_t ulen = u->hdr_len >= 8 ? (uint32_t)u->data[4] << 8 | u->data[5] : 0;
        *bytes = ulen >= 8 ? ulen - 8 : pkt->payload_len;
        *sender = kdir == MS_DIR_A_TO_B ? 0 : 1;
        return true;
    }
    bool v6 = n->proto == 58;
    if ((n->proto != 1 && !v6) || (n->family != 4 && n->family != 6))
        return false;
    const ms_layer *ic = ms_packet_layer(pkt, v6 ? MS_LAYER_ICMPV6 : MS_LAYER_ICMP);
    if (!ic || ic->hdr_len < 2)
        return false;
    uint16_t sport = ic->data[0], dport = icmp_counterpart(v6, ic->data[0], ic->data[1], one_way);
    *bytes = ic->len >= 8 ? ic->len - 8 : 0;
    size_t alen = n->family == 4 ? 4 : 16;
    int c = memcmp(n->src, n->dst, alen);
    bool src_first = c < 0 || (c == 0 && sport <= dport);
    memset(key, 0, sizeof *key);
    key->family = n->family;
    key->proto = n->proto;
    memcpy(key->a_addr, src_first ? n->src : n->dst, alen);
    memcpy(key->b_addr, src_first ? n->dst : n->src, alen);
    key->a_port = src_first ? sport : dport;
    key->b_port = src_first ? dport : sport;
    *sender = src_first ? 0 : 1;
    return true;
}

/* Counts one packet of the flow key (sent by side sender of the key), opening the flow at its
 * first packet; returns the flow. */
static flow *flow_account(conn_run *r, const ms_flow_key *key, int sender, uint64_t bytes, uint32_t ip_bytes,
                          const ms_packet *pkt)
{
    uint64_t h = ms_flow_hash(key);
    flow *f = r->buckets[h & (r->nbuckets - 1)];
    while (f && (f->hash != h || memcmp(&f->key, key, sizeof *key) != 0))
        f = f->hnext;
    uint64_t ts = pkt->frame.ts_ns;
    if (!f) {
        if (!r->free_flows && r->pool_used < r->max_flows) {
            f = &r->pool[r->pool_used++];
        } else {
            if (!r->free_flows) {
                r->flows_evicted++;
                flow_close(r, r->oldest, "evicted");
            }
            f = r->free_flows;
            r->free_flows = f->hnext;
        }
        memset(f, 0, sizeof *f);
        f->key = *key;
        f->hash = h;
        f->hnext = r->buckets[h & (r->nbuckets - 1)];
        r->buckets[h & (r->nbuckets - 1)] = f;
        f->orig_side = sender;
        if (key->proto == 17) {
            ms_endpoint se = ms_flow_endpoint(key, sender), re = ms_flow_endpoint(key, sender ^ 1);
            if (udp_server_port(se.port) && !udp_server_port(re.port)) {
                f->orig_side = sender ^ 1; /* an answer seen first: its peer asked */
                f->flipped = true;
            }
            r->flows_udp++;
        } else {
            r->flows_icmp++;
        }
        f->first_ts = ts;
        ms_uid_format(key->proto == 17 ? r->udp_seed : r->icmp_seed, ms_uid_id(key, pkt->frame.index), f->uid,
                      sizeof f->uid);
        memcpy(f->parent, r->tunnel_uid, sizeof f->parent);
        flow_push_newest(r, f);
    } else {
        flow_unlink(r, f);
        flow_push_newest(r, f);
    }
    int role = sender == f->orig_side ? 0 : 1;
    f->pkts[role]++;
    f->bytes[role] += bytes;
    f->ip_bytes[role] += ip_bytes;
    if (ts > f->last_ts)
        f->last_ts = ts;
    return f;
}

static void flow_packet(conn_run *r, ms_packet *pkt)
{
    ms_flow_key key;
    int sender;
    uint64_t bytes;
    bool one_way;
    if (!flow_key_of(pkt, &key, &sender, &bytes, &one_way)) {
        r->other_packets++;
        return;
    }
    flow *f = flow_account(r, &key, sender, bytes, ms_flow_ip_bytes(pkt), pkt);
    if (!f->service && key.proto == 17 && pkt->payload)
        f->service = udp_service(f, pkt->payload, pkt->payload_len);
}

/* Zeek's service name of a tunnel carried in UDP, by the layer after the UDP header. */
static const char *tunnel_service(int layer)
{
    switch (layer) {
    case MS_LAYER_VXLAN: return "vxlan";
    case MS_LAYER_GENEVE: return "geneve";
    case MS_LAYER_GTP: return "gtpv1";
    case MS_LAYER_AYIYA: return "ayiya";
    case MS_LAYER_GRE: return "gre";
    case MS_LAYER_MPLS: return "mpls";
    default: return NULL;
    }
}

/* The outer UDP flows of tunnels (VXLAN, Geneve, GTP-U, AYIYA, GRE or MPLS in UDP) with an IP
 * packet inside get lines of their own, as in Zeek; the innermost one's uid is left in
 * r->tunnel_uid for the connection inside (tunnel_parents). Reads the layers decoded so far. */
static void tunnel_flows(conn_run *r, const ms_packet *pkt)
{
    r->tunnel_uid[0] = '\0';
    int ip = -1, n = pkt->nlayers;
    for (int i = 0; i + 1 < n; i++) {
        const ms_layer *l = &pkt->layers[i];
        if (l->type == MS_LAYER_ICMP || l->type == MS_LAYER_ICMPV6)
            return; /* what follows is a quoted packet */
        if (l->type == MS_LAYER_IPV4 || l->type == MS_LAYER_IPV6)
            ip = i;
        if (l->type != MS_LAYER_UDP || ip < 0 || l->hdr_len < 8 || !tunnel_service(pkt->layers[i + 1].type))
            continue;
        bool ip_inside = false;
        for (int j = i + 1; j < n && !ip_inside; j++)
            ip_inside = pkt->layers[j].type == MS_LAYER_IPV4 || pkt->layers[j].type == MS_LAYER_IPV6;
        const ms_layer *iph = &pkt->layers[ip];
        bool v4 = iph->type == MS_LAYER_IPV4;
        if (!ip_inside || iph->hdr_len < (v4 ? 20u : 40u))
            continue; /* nothing IP inside: the packet's own flow is this one */
        size_t alen = v4 ? 4 : 16;
        const uint8_t *src = iph->data + (v4 ? 12 : 8), *dst = src + alen;
        uint16_t sport = (uint16_t)(l->data[0] << 8 | l->data[1]), dport = (uint16_t)(l->data[2] << 8 | l->data[3]);
        uint32_t ulen = (uint32_t)l->data[4] << 8 | l->data[5];
        int c = memcmp(src, dst, alen);
        bool src_first = c < 0 || (c == 0 && sport <= dport);
        ms_flow_key key;
        memset(&key, 0, sizeof key);
        key.family = v4 ? 4 : 6;
        key.proto = 17;
        memcpy(key.a_addr, src_first ? src : dst, alen);
        memcpy(key.b_addr, src_first ? dst : src, alen);
        key.a_port = src_first ? sport : dport;
        key.b_port = src_first ? dport : sport;
        uint32_t ip_bytes = v4 ? (uint32_t)iph->data[2] << 8 | iph->data[3]
                               : 40u + ((uint32_t)iph->data[4] << 8 | iph->data[5]);
        flow *f = flow_account(r, &key, src_first ? 0 : 1, ulen >= 8 ? ulen - 8 : 0, ip_bytes, pkt);
        f->service = tunnel_service(pkt->layers[i + 1].type);
        memcpy(r->tunnel_uid, f->uid, sizeof r->tunnel_uid);
    }
}

static void flows_idle(conn_run *r, uint64_t now)
{
    uint64_t before = ms_ns_before(now, FLOW_IDLE_NS);
    while (r->oldest && r->oldest->last_ts < before)
        flow_close(r, r->oldest, "idle");
}

static void flows_flush(conn_run *r)
{
    while (r->oldest)
        flow_close(r, r->oldest, "flush");
}

/* ---- the run ------------------------------------------------------------------------------- */

static void on_packet(void *ud, ms_packet *pkt)
{
    conn_run *r = ud;
    (void)ms_packet_layer(pkt, MS_LAYER_TCP); /* decodes down to TCP, or every layer */
    tunnel_flows(r, pkt);
    if (!ms_tcp_assemble_packet(r->a, pkt))
        flow_packet(r, pkt);
}

static void on_tick(void *ud, uint64_t now)
{
    conn_run *r = ud;
    ms_tcp_flush(r->a, ms_ns_before(now, r->opts->gap_timeout_ns), ms_ns_before(now, r->opts->idle_timeout_ns));
    flows_idle(r, now);
}

static void on_input_end(void *ud, const char *name)
{
    (void)name;
    conn_run *r = ud;
    ms_tcp_flush_all(r->a);
    flows_flush(r);
}

static int flows_init(conn_run *r, uint64_t seed)
{
    r->max_flows = r->opts->max_conns ? (uint32_t)MS_MIN(r->opts->max_conns, (uint64_t)UINT32_MAX) : FLOW_DEFAULT_MAX;
    r->nbuckets = 1;
    while (r->nbuckets < (uint64_t)r->max_flows * 2)
        r->nbuckets <<= 1;
    r->buckets = calloc(r->nbuckets, sizeof *r->buckets);
    r->pool = calloc(r->max_flows, sizeof *r->pool); /* handed out in order: untouched pages cost nothing */
    r->udp_seed = ms_dispatch_udp_uid_seed(seed); /* as the dispatcher names UDP flows: uids join */
    r->icmp_seed = seed ^ 0x49434d5049434d50ull;
    return r->buckets && r->pool ? 0 : MS_ENOMEM;
}

int ms_cmd_conn(int argc, char **argv)
{
    ms_cli_opts opts;
    opts.command = "conn";
    int rc = ms_cli_parse(argc, argv, &opts, conn_usage);
    if (rc == 1)
        return 0;
    if (rc)
        return 2;
    conn_run run;
    memset(&run, 0, sizeof run);
    run.opts = &opts;
    ms_err err;
    run.out = ms_output_open("conn", conn_fields, F_COUNT, opts.format, stdout, opts.out_dir, &err);
    if (run.out && ms_output_set_view(run.out, opts.display_filter, opts.select, opts.nselect, &err) != 0) {
        ms_output_close(run.out);
        run.out = NULL;
        ms_cli_error("%s", err.msg);
        return 2;
    }
    if (!run.out) {
        ms_cli_error("%s", err.msg);
        return 1;
    }
    ms_output_set_live(run.out, opts.line_buffered);
    static const char *const narrow[] = { "ts", "id.orig_h", "id.resp_h", "id.resp_p", "proto", "conn_state",
                                          "service", "duration", "orig_bytes", "resp_bytes", "id.orig_p" };
    ms_output_set_table_keep(run.out, narrow, (int)MS_ARRAY_LEN(narrow));
    ms_tcp_opts topts;
    ms_cmd_tcp_opts(&opts, &topts);
    ms_tcp_stream_ops ops = { on_new, NULL, on_data, NULL };
    run.a = ms_tcp_assembler_new(&topts, &ops, &run);
    if (run.a)
        ms_tcp_set_removed_hook(run.a, on_removed);
    ms_decode_opts dopts;
    ms_decode_opts_default(&dopts);
    dopts.eager = false;
    ms_decode_ctx *ctx = ms_decode_ctx_new(&dopts);
    if (!run.a || !ctx || flows_init(&run, opts.seed) != 0) {
        ms_cli_error("out of memory creating the connection tables");
        ms_tcp_assembler_free(run.a);
        ms_decode_ctx_free(ctx);
        ms_output_close(run.out);
        free(run.buckets);
        free(run.pool);
        return 1;
    }
    ms_run_hooks hooks = { on_packet, on_tick, on_input_end };
    rc = ms_cli_run(&opts, ctx, &hooks, &run);
    ms_tcp_flush_all(run.a);
    flows_flush(&run);
    uint64_t records = ms_output_records(run.out), filtered = ms_output_filtered(run.out);
    if (ms_output_close(run.out) != 0 && rc == 0) {
        ms_cli_error("cannot write the connection log%s%s", opts.out_dir ? " in " : "", opts.out_dir ? opts.out_dir : "");
        rc = MS_EIO;
    }
    if (opts.stats) {
        ms_cmd_print_tcp_stats(stderr, ms_tcp_assembler_stats(run.a));
        fprintf(stderr, "flows: udp %llu, icmp %llu, evicted %llu; other packets %llu\n",
                (unsigned long long)run.flows_udp, (unsigned long long)run.flows_icmp,
                (unsigned long long)run.flows_evicted, (unsigned long long)run.other_packets);
        fprintf(stderr, "log.conn.records %llu\n", (unsigned long long)(records - filtered));
        if (opts.display_filter)
            fprintf(stderr, "log.conn.filtered_out %llu\n", (unsigned long long)filtered);
    }
    ms_tcp_assembler_free(run.a);
    ms_decode_ctx_free(ctx);
    free(run.buckets);
    free(run.pool);
    return ms_cli_exit_code(rc);
}
