/* replay.c — segmentations of a recorded connection and their replay into a Lua runtime. A plan is
 * a list of calls (data, gap, end of a direction, datagram): each direction is cut into chunks
 * (never across a gap), each chunk is placed in the capture order by the capture position of its
 * first or last byte, and the two directions are merged by those places. The replay presents each
 * chunk with whatever the parser left unconsumed before it, as the dispatcher does. */
#include "cli/replay.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct seg_info {
    const char *name;
    const char *about;
} seg_info;

static const seg_info segs[MS_SEG_COUNT] = {
    { "captured", "the calls as the dispatcher made them, in capture order (the reference)" },
    { "whole", "each direction in one call (cut only at gaps), the client's before the server's" },
    { "bytes", "one byte per call, the client's bytes as early and the server's as late as captured" },
    { "crlf", "cut between every CR and LF and after every LF" },
    { "random", "random sizes from 1 to 4096 bytes (seeded)" },
    { "random-lag", "random sizes, the server's calls held back behind up to 8 more client calls" },
    { "server-late", "the calls as captured, but every client call before any server call" },
    { "server-early", "random sizes, the server's bytes as early and the client's as late as captured" },
};

const char *ms_seg_name(int seg)
{
    return seg >= 0 && seg < MS_SEG_COUNT ? segs[seg].name : "?";
}

const char *ms_seg_about(int seg)
{
    return seg >= 0 && seg < MS_SEG_COUNT ? segs[seg].about : "";
}

int ms_seg_by_name(const char *name, size_t len)
{
    for (int i = 0; i < MS_SEG_COUNT; i++)
        if (strlen(segs[i].name) == len && strncmp(segs[i].name, name, len) == 0)
            return i;
    return -1;
}

/* ---- plans ------------------------------------------------------------------------------- */

typedef struct step {
    uint8_t kind;           /* MS_REC_DATA, MS_REC_LAST, MS_REC_GAP, MS_REC_DATAGRAM */
    uint8_t dir;
    uint64_t from, to;      /* data: new bytes [from, to); datagram: its bytes; last: to = the end */
    uint64_t gap;           /* gap: bytes lost */
    uint64_t key_ev, key_off; /* place in capture order: event index, then byte offset */
} step;

typedef struct plan {
    step *v;
    size_t n, cap;
} plan;

static int add_step(plan *p, step s)
{
    if (ms_cli_grow((void **)&p->v, sizeof *p->v, &p->cap, p->n + 1))
        return MS_ENOMEM;
    p->v[p->n++] = s;
    return 0;
}

static uint64_t splitmix(uint64_t *s)
{
    uint64_t z = (*s += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

/* 1 to 4096, small sizes as likely as large ones (a power of two, then a size below it). */
static uint64_t random_size(uint64_t *rng)
{
    uint64_t v = splitmix(rng);
    uint64_t top = 1ull << (1 + v % 12);
    return 1 + (v >> 8) % top;
}

/* Index of the data/last event of direction d holding byte off (events ev[] of that direction,
 * sorted by offset). */
static size_t event_of(const ms_rec_conn *rc, const size_t *ev, size_t nev, uint64_t off)
{
    size_t lo = 0, hi = nev;
    while (hi - lo > 1) {
        size_t mid = lo + (hi - lo) / 2;
        if (rc->ev[ev[mid]].off <= off)
            lo = mid;
        else
            hi = mid;
    }
    return nev ? ev[lo] : 0;
}

/* Does the chunk of this direction take the place of its first byte (else of its last)? */
static bool place_early(int seg, int dir)
{
    if (seg == MS_SEG_SERVER_EARLY)
        return dir == MS_PARSER_SERVER;
    return dir == MS_PARSER_CLIENT;
}

/* The calls of one direction at segmentation seg, with their places. */
static int plan_dir(const ms_rec_conn *rc, int dir, int seg, const ms_replay_opts *o, uint64_t *rng, plan *out)
{
    const ms_rec_dir *d = &rc->dir[dir];
    size_t *ev = malloc((rc->nev ? rc->nev : 1) * sizeof *ev); /* this direction's data/last events */
    if (!ev)
        return MS_ENOMEM;
    size_t nev = 0;
    for (size_t i = 0; i < rc->nev; i++)
        if (rc->ev[i].dir == dir && (rc->ev[i].kind == MS_REC_DATA || rc->ev[i].kind == MS_REC_LAST) &&
            rc->ev[i].len > 0)
            ev[nev++] = i;
    bool all_first = seg == MS_SEG_WHOLE || seg == MS_SEG_SERVER_LATE;
    uint64_t late = dir == MS_PARSER_CLIENT ? 0 : UINT64_MAX; /* all_first: client places before server */
    int rc_err = 0;
    size_t next_ev = 0;  /* for cuts at captured boundaries */
    uint64_t pos = 0;
    for (size_t i = 0; i <= rc->nev && rc_err == 0; i++) {
        /* a run of bytes ends at each gap of this direction, and at the end */
        const ms_rec_event *e = i < rc->nev ? &rc->ev[i] : NULL;
        if (e && (e->dir != dir || e->kind != MS_REC_GAP))
            continue;
        uint64_t end = e ? e->off : d->len;
        while (pos < end && rc_err == 0) {
            uint64_t cut = end;
            switch (seg) {
            case MS_SEG_WHOLE:
                break;
            case MS_SEG_BYTES:
                if (pos < o->byte_limit) {
                    cut = pos + 1;
                    break;
                }
                /* fall through: the rest as captured */
            case MS_SEG_CAPTURED:
            case MS_SEG_SERVER_LATE:
                while (next_ev < nev && rc->ev[ev[next_ev]].off + rc->ev[ev[next_ev]].len <= pos)
                    next_ev++;
                if (next_ev < nev)
                    cut = MS_MIN(end, rc->ev[ev[next_ev]].off + rc->ev[ev[next_ev]].len);
                break;
            case MS_SEG_CRLF:
                for (uint64_t k = pos; k < end; k++) {
                    uint8_t c = d->bytes[k];
                    if (c == '\n' || (c == '\r' && k + 1 < end && d->bytes[k + 1] == '\n')) {
                        cut = k + 1;
                        break;
                    }
                }
                break;
            default: { /* random sizes */
                uint64_t size = random_size(rng);
                cut = MS_MIN(end, pos + size);
                break;
            }
            }
            if (cut <= pos)
                cut = pos + 1;
            step s = { MS_REC_DATA, (uint8_t)dir, pos, cut, 0, 0, 0 };
            if (all_first) {
                s.key_ev = late;
            } else {
                uint64_t at = place_early(seg, dir) ? pos : cut - 1;
                s.key_ev = event_of(rc, ev, nev, at);
                s.key_off = at;
            }
            rc_err = add_step(out, s);
            pos = cut;
        }
        if (e && rc_err == 0)
            rc_err = add_step(out, (step){ MS_REC_GAP, (uint8_t)dir, pos, pos, e->len, all_first ? late : i, 0 });
    }
    if (d->ended && rc_err == 0) {
        size_t last = 0;
        for (size_t i = 0; i < rc->nev; i++)
            if (rc->ev[i].dir == dir && rc->ev[i].kind == MS_REC_LAST)
                last = i;
        rc_err = add_step(out, (step){ MS_REC_LAST, (uint8_t)dir, d->len, d->len, 0, all_first ? late : last, d->len });
    }
    free(ev);
    return rc_err;
}

static bool before(const step *a, const step *b)
{
    return a->key_ev < b->key_ev || (a->key_ev == b->key_ev && a->key_off < b->key_off);
}

/* The whole plan: both directions merged by place (random-lag then holds the server back). */
static int make_plan(const ms_rec_conn *rc, int seg, const ms_replay_opts *o, plan *out)
{
    if (rc->info.udp) {
        for (size_t i = 0; i < rc->nev; i++) {
            const ms_rec_event *e = &rc->ev[i];
            if (e->kind == MS_REC_DATAGRAM &&
                add_step(out, (step){ MS_REC_DATAGRAM, e->dir, e->off, e->off + e->len, 0, i, 0 }))
                return MS_ENOMEM;
        }
        return 0;
    }
    uint64_t rng = o->seed ^ 0x6d6f6f6e7368726bull ^ ((uint64_t)seg << 56);
    for (const char *u = rc->uid; *u; u++)
        rng = (rng ^ (uint8_t)*u) * 0x100000001b3ull;
    plan c = { 0 }, s = { 0 };
    int err = plan_dir(rc, MS_PARSER_CLIENT, seg, o, &rng, &c);
    if (!err)
        err = plan_dir(rc, MS_PARSER_SERVER, seg, o, &rng, &s);
    size_t *at = err ? NULL : malloc((s.n ? s.n : 1) * sizeof *at); /* client calls before server call j */
    if (!at)
        err = MS_ENOMEM;
    for (size_t j = 0, i = 0; !err && j < s.n; j++) {
        while (i < c.n && before(&c.v[i], &s.v[j]))
            i++;
        at[j] = i;
        if (seg == MS_SEG_RANDOM_LAG) {
            size_t lag = (size_t)(splitmix(&rng) % 9);
            at[j] = MS_MIN(c.n, at[j] + lag);
            if (j > 0 && at[j] < at[j - 1])
                at[j] = at[j - 1];
        }
    }
    for (size_t j = 0, i = 0; !err && j <= s.n; j++) {
        size_t upto = j < s.n ? at[j] : c.n;
        while (!err && i < upto)
            err = add_step(out, c.v[i++]);
        if (!err && j < s.n)
            err = add_step(out, s.v[j]);
    }
    free(at);
    free(c.v);
    free(s.v);
    return err;
}

/* ---- the replay -------------------------------------------------------------------------- */

typedef struct ts_ctx {
    const ms_rec_dir *d;
    uint64_t base;
} ts_ctx;

static uint64_t byte_time(void *ud, uint64_t offset)
{
    const ts_ctx *t = ud;
    return ms_rec_ts_at(t->d, t->base + offset);
}

/* Byte off of a direction (a valid pointer even for a direction without bytes). */
static const uint8_t *at(const ms_rec_dir *d, uint64_t off)
{
    return d->bytes ? d->bytes + off : (const uint8_t *)"";
}

typedef struct dir_state {
    uint64_t held_from;  /* first byte presented but not consumed */
    uint64_t pos;        /* end of the bytes presented */
    uint64_t np_calls;   /* calls that presented the held bytes without the parser consuming */
    bool ended;
} dir_state;

static void note_end(ms_replay_dir *rd, const dir_state *st)
{
    rd->end_held = st->pos - st->held_from;
    rd->end_calls = rd->end_held ? st->np_calls : 0;
    rd->end_from = st->held_from;
}

/* Records that came out since the last look (none when nobody collects them). */
static int take(ms_records *r, int dir, uint64_t off, ms_record_list *out)
{
    return r ? ms_records_take(r, dir, off, out) : 0;
}

int ms_replay_run(ms_lua *rt, ms_records *r, const ms_rec_conn *rc, int seg, const ms_replay_opts *o,
                  ms_record_list *out, ms_replay_result *res)
{
    memset(res, 0, sizeof *res);
    res->dir[0].bytes = rc->dir[0].len;
    res->dir[1].bytes = rc->dir[1].len;
    plan p = { 0 };
    int err = make_plan(rc, seg, o, &p);
    if (err) {
        free(p.v);
        return err;
    }
    uint64_t errors_before = ms_lua_get_stats(rt)->script_errors;
    ms_lua_conn *c = ms_lua_conn_open(rt, &rc->info);
    if (!c) {
        free(p.v);
        return MS_ENOMEM;
    }
    int got = take(r, -1, 0, out);
    const char *trace = getenv("MOONSHARK_CHECK_TRACE"); /* debugging aid: the plan on stderr */
    if (trace && *trace)
        for (size_t i = 0; i < p.n; i++)
            fprintf(stderr, "%s %s step %zu: %s %s [%llu, %llu) gap %llu\n", rc->uid, ms_seg_name(seg), i,
                    p.v[i].dir ? "server" : "client",
                    (const char *[]){ "data", "last", "gap", "datagram" }[p.v[i].kind],
                    (unsigned long long)p.v[i].from, (unsigned long long)p.v[i].to, (unsigned long long)p.v[i].gap);
    dir_state st[2] = { { 0 }, { 0 } };
    for (size_t i = 0; i < p.n && got >= 0; i++) {
        const step *s = &p.v[i];
        const ms_rec_dir *d = &rc->dir[s->dir];
        dir_state *ds = &st[s->dir];
        ms_replay_dir *rd = &res->dir[s->dir];
        res->calls++;
        switch (s->kind) {
        case MS_REC_DATA: {
            uint64_t len = s->to - ds->held_from;
            ts_ctx t = { d, ds->held_from };
            size_t used = ms_lua_conn_data_ts(c, s->dir, at(d, ds->held_from), (size_t)len,
                                              ms_rec_ts_at(d, ds->held_from), byte_time, &t);
            ds->held_from += used;
            ds->pos = s->to;
            uint64_t held = ds->pos - ds->held_from;
            if (used > 0)
                ds->np_calls = held ? 1 : 0;
            else if (held)
                ds->np_calls++;
            rd->max_held = MS_MAX(rd->max_held, held);
            break;
        }
        case MS_REC_GAP:
            ms_lua_conn_gap(c, s->dir, s->gap);
            ds->held_from = ds->pos;
            ds->np_calls = 0;
            break;
        case MS_REC_LAST:
            note_end(rd, ds);
            ms_lua_conn_last(c, s->dir, at(d, ds->held_from), (size_t)(ds->pos - ds->held_from),
                             ms_rec_ts_at(d, ds->held_from));
            ds->held_from = ds->pos;
            ds->ended = true;
            break;
        case MS_REC_DATAGRAM:
            ms_lua_datagram(c, s->dir, at(d, s->from), (size_t)(s->to - s->from), rc->ev[s->key_ev].ts_ns);
            ds->pos = s->to;
            ds->held_from = s->to;
            break;
        }
        got = take(r, s->dir, ds->pos, out);
    }
    for (int k = 0; k < 2; k++)
        if (!st[k].ended)
            note_end(&res->dir[k], &st[k]);
    const char *proto = ms_lua_conn_protocol(c);
    snprintf(res->protocol, sizeof res->protocol, "%s", proto ? proto : "");
    ms_lua_conn_close(c, rc->reason);
    if (got >= 0)
        got = take(r, -1, 0, out);
    res->script_errors = ms_lua_get_stats(rt)->script_errors - errors_before;
    free(p.v);
    return got < 0 ? got : 0;
}
