/* stream.c — byte files made into a recorded connection, with endpoints and time from options. */
#include "cli/stream.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "flow/flow.h"

void ms_stream_xopts(ms_xopt xs[MS_STREAM_NXOPTS])
{
    static const ms_xopt defs[MS_STREAM_NXOPTS] = {
        { "stream", false, NULL, 0 },
        { "stream-ports", true, NULL, 0 },
        { "stream-addrs", true, NULL, 0 },
        { "stream-udp", false, NULL, 0 },
        { "stream-time", true, NULL, 0 },
    };
    memcpy(xs, defs, sizeof defs);
}

int ms_stream_opts_from(const ms_xopt xs[MS_STREAM_NXOPTS], ms_stream_opts *o)
{
    o->ports = xs[1].value;
    o->addrs = xs[2].value;
    o->udp = xs[3].seen > 0;
    if (xs[4].value) {
        char *end;
        errno = 0;
        o->ts = strtod(xs[4].value, &end);
        if (errno || end == xs[4].value || *end || !(o->ts >= 0) || o->ts > 1e11) {
            ms_cli_error("--stream-time: '%s' is not a time in epoch seconds", xs[4].value);
            return -1;
        }
    }
    return 0;
}

uint8_t *ms_stream_read_file(const char *path, size_t *len, ms_err *err)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        ms_fail(err, MS_EIO, "%s: %s", path, strerror(errno));
        return NULL;
    }
    size_t n = 0, cap = 4096;
    uint8_t *b = malloc(cap);
    bool full = false;
    for (;;) {
        if (!b) {
            full = true;
            break;
        }
        if (n == cap) {
            uint8_t *nb = cap < (1u << 30) ? realloc(b, cap * 2) : NULL;
            if (!nb) {
                full = true;
                break;
            }
            b = nb;
            cap *= 2;
        }
        size_t got = fread(b + n, 1, cap - n, f);
        n += got;
        if (got == 0)
            break;
    }
    bool bad = ferror(f);
    fclose(f);
    if (full || bad) {
        free(b);
        ms_fail(err, MS_EIO, "%s: %s", path, full ? "too large or out of memory" : "read error");
        return NULL;
    }
    *len = n;
    return b;
}

static int parse_addr(const char *s, size_t len, ms_endpoint *e)
{
    char buf[64];
    if (len == 0 || len >= sizeof buf)
        return -1;
    memcpy(buf, s, len);
    buf[len] = '\0';
    memset(e->addr, 0, sizeof e->addr);
    if (inet_pton(AF_INET, buf, e->addr) == 1) {
        e->family = 4;
        return 0;
    }
    if (inet_pton(AF_INET6, buf, e->addr) == 1) {
        e->family = 6;
        return 0;
    }
    return -1;
}

static int parse_port(const char *s, size_t len, uint16_t *port)
{
    unsigned v = 0;
    if (len == 0 || len > 5)
        return -1;
    for (size_t i = 0; i < len; i++) {
        if (s[i] < '0' || s[i] > '9')
            return -1;
        v = v * 10 + (unsigned)(s[i] - '0');
    }
    if (v == 0 || v > 65535)
        return -1;
    *port = (uint16_t)v;
    return 0;
}

/* The first port (ascending) that a protocol of rt claims, or 12345 (then detect decides). */
static uint16_t claimed_port(const ms_lua *rt, bool udp)
{
    for (unsigned p = 1; p < 65536; p++)
        if (ms_lua_protocol_for_ports(rt, udp, (uint16_t)p, 0) >= 0)
            return (uint16_t)p;
    return 12345;
}

/* The canonical flow key of the two endpoints (the smaller first, as flow.c orders them). */
static ms_flow_key key_of(const ms_endpoint *c, const ms_endpoint *s, bool udp)
{
    ms_flow_key k;
    memset(&k, 0, sizeof k);
    int cmp = memcmp(c->addr, s->addr, 16);
    bool c_first = cmp < 0 || (cmp == 0 && c->port <= s->port);
    const ms_endpoint *a = c_first ? c : s, *b = c_first ? s : c;
    memcpy(k.a_addr, a->addr, 16);
    memcpy(k.b_addr, b->addr, 16);
    k.a_port = a->port;
    k.b_port = b->port;
    k.family = c->family;
    k.proto = udp ? 17 : 6;
    return k;
}

ms_rec_conn *ms_stream_record(const ms_stream_opts *o, ms_lua *rt, ms_err *err)
{
    ms_parser_conn_info info;
    memset(&info, 0, sizeof info);
    const char *addrs = o->addrs ? o->addrs : "10.0.0.1,10.0.0.2";
    const char *comma = strchr(addrs, ',');
    if (!comma || parse_addr(addrs, (size_t)(comma - addrs), &info.client) ||
        parse_addr(comma + 1, strlen(comma + 1), &info.server) || info.client.family != info.server.family) {
        ms_fail(err, MS_EINVAL, "--stream-addrs: '%s' is not CLIENT,SERVER (two IPv4 or two IPv6 addresses)", addrs);
        return NULL;
    }
    info.client.port = 40000;
    info.server.port = claimed_port(rt, o->udp);
    if (o->ports) {
        const char *colon = strchr(o->ports, ':');
        int bad = colon ? parse_port(o->ports, (size_t)(colon - o->ports), &info.client.port) ||
                              parse_port(colon + 1, strlen(colon + 1), &info.server.port)
                        : parse_port(o->ports, strlen(o->ports), &info.server.port);
        if (bad) {
            ms_fail(err, MS_EINVAL, "--stream-ports: '%s' is not CLIENT:SERVER or SERVER (ports 1 to 65535)", o->ports);
            return NULL;
        }
    }
    info.udp = o->udp;
    info.ts_ns = (uint64_t)(o->ts * 1e9 + 0.5);
    ms_flow_key key = key_of(&info.client, &info.server, o->udp);
    char uid[24];
    ms_uid_format(o->seed, ms_uid_id(&key, 0), uid, sizeof uid);
    info.uid = uid;
    ms_rec_conn *rc = ms_rec_conn_new(&info);
    if (!rc) {
        ms_fail(err, MS_ENOMEM, "out of memory");
        return NULL;
    }
    const char *paths[2] = { o->client_path, o->server_path };
    for (int d = 0; d < 2; d++) {
        if (!paths[d])
            continue;
        size_t len = 0;
        uint8_t *b = ms_stream_read_file(paths[d], &len, err);
        if (!b) {
            ms_rec_conn_free(rc);
            return NULL;
        }
        int r = 0;
        if (!o->udp)
            r = ms_rec_add(rc, MS_REC_DATA, d, b, len, info.ts_ns);
        else if (len > 0)
            r = ms_rec_add(rc, MS_REC_DATAGRAM, d, b, len, info.ts_ns);
        free(b);
        if (r) {
            ms_rec_conn_free(rc);
            ms_fail(err, MS_ENOMEM, "out of memory");
            return NULL;
        }
    }
    if (!o->udp)
        for (int d = 0; d < 2; d++)
            if (ms_rec_add(rc, MS_REC_LAST, d, NULL, 0, info.ts_ns)) {
                ms_rec_conn_free(rc);
                ms_fail(err, MS_ENOMEM, "out of memory");
                return NULL;
            }
    rc->reason = "fin";
    return rc;
}
