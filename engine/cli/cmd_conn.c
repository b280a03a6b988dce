/* cmd_conn.c — `moonshark conn FILE...`: one line per TCP connection with Zeek conn.log names
 * (ts uid id.orig_h id.orig_p id.resp_h id.resp_p proto duration orig_bytes resp_bytes conn_state
 * missed_bytes orig_pkts resp_pkts history) plus why the connection closed, written when the
 * assembler completes it. Text by default, --json for JSON lines (engine/output/output.h sinks). */
#include <stdio.h>
#include <string.h>

#include "cli/cli.h"
#include "cli/commands.h"
#include "tcp/tcp.h"

static const char conn_usage[] =
    "usage: moonshark conn [OPTIONS] CAPTURE...\n"
    "\n"
    "One line per TCP connection, Zeek conn.log style: ts uid id.orig_h id.orig_p id.resp_h id.resp_p\n"
    "proto duration orig_bytes resp_bytes conn_state missed_bytes orig_pkts resp_pkts history, and\n"
    "close (fin, rst, idle, flush, evicted). orig/resp: the side that sent the SYN is the originator;\n"
    "without a SYN, the first packet's sender. Bytes count the stream (delivered + missed in gaps).\n"
    "Lines come out when connections leave the table: --gap-timeout (default 30 s of capture time)\n"
    "after FIN both ways or RST (late packets such as the last ACK are counted), after\n"
    "--idle-timeout (default 300 s) without packets, or at the end of the input. A new SYN on a\n"
    "closed connection's ports starts a new connection, and so does new data without a SYN 5 s or\n"
    "more after the close (retransmissions and stragglers of the close stay with the old one).\n"
    "\n"
    "Options: --json | --tsv | --table, -f EXPR (BPF filter), --max-conns N, --max-pages N,\n"
    "--stats (assembler counters on stderr), -q, -h.\n";

enum {
    F_TS, F_UID, F_ORIG_H, F_ORIG_P, F_RESP_H, F_RESP_P, F_PROTO, F_DURATION, F_ORIG_BYTES, F_RESP_BYTES,
    F_CONN_STATE, F_MISSED, F_ORIG_PKTS, F_RESP_PKTS, F_HISTORY, F_CLOSE, F_COUNT
};

static const ms_field_def conn_fields[F_COUNT] = {
    { "ts", MS_FIELD_TIME },
    { "uid", MS_FIELD_STRING },
    { "id.orig_h", MS_FIELD_ADDR },
    { "id.orig_p", MS_FIELD_PORT },
    { "id.resp_h", MS_FIELD_ADDR },
    { "id.resp_p", MS_FIELD_PORT },
    { "proto", MS_FIELD_STRING },
    { "duration", MS_FIELD_INTERVAL },
    { "orig_bytes", MS_FIELD_COUNT },
    { "resp_bytes", MS_FIELD_COUNT },
    { "conn_state", MS_FIELD_STRING },
    { "missed_bytes", MS_FIELD_COUNT },
    { "orig_pkts", MS_FIELD_COUNT },
    { "resp_pkts", MS_FIELD_COUNT },
    { "history", MS_FIELD_STRING },
    { "close", MS_FIELD_STRING },
};

typedef struct conn_run {
    ms_tcp_assembler *a;
    ms_output *out;
    const ms_cli_opts *opts;
} conn_run;

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

static void *on_new(void *factory, ms_tcp_conn *conn, const ms_tcp_segment *first, int dir)
{
    return factory;
}

/* Written when the connection leaves the assembler (after the linger that counts late packets,
 * such as the last ACK), as Zeek writes conn.log at removal. */
static void on_removed(void *factory, const ms_tcp_conn *conn)
{
    conn_run *r = factory;
    const ms_tcp_conn_info *in = ms_tcp_conn_get_info(conn);
    ms_tcp_close_reason reason = in->close_reason;
    const ms_tcp_half_stats *o = &in->half[MS_TCP_CLIENT], *s = &in->half[MS_TCP_SERVER];
    char addr[64];
    ms_output *out = r->out;
    ms_output_begin(out);
    ms_output_time(out, F_TS, in->first_ts_ns);
    ms_output_cstr(out, F_UID, in->uid);
    ms_output_cstr(out, F_ORIG_H, ms_addr_format(in->client.addr, in->client.family, addr, sizeof addr));
    ms_output_uint(out, F_ORIG_P, in->client.port);
    ms_output_cstr(out, F_RESP_H, ms_addr_format(in->server.addr, in->server.family, addr, sizeof addr));
    ms_output_uint(out, F_RESP_P, in->server.port);
    ms_output_cstr(out, F_PROTO, "tcp");
    ms_output_uint(out, F_DURATION, in->last_ts_ns - in->first_ts_ns);
    ms_output_uint(out, F_ORIG_BYTES, o->bytes_delivered + o->bytes_skipped);
    ms_output_uint(out, F_RESP_BYTES, s->bytes_delivered + s->bytes_skipped);
    ms_output_cstr(out, F_CONN_STATE, conn_state(in));
    ms_output_uint(out, F_MISSED, o->bytes_skipped + s->bytes_skipped);
    ms_output_uint(out, F_ORIG_PKTS, o->packets);
    ms_output_uint(out, F_RESP_PKTS, s->packets);
    ms_output_cstr(out, F_HISTORY, in->history);
    ms_output_cstr(out, F_CLOSE, ms_tcp_close_reason_name(reason));
    ms_output_end(out);
}

static void on_packet(void *ud, ms_packet *pkt)
{
    conn_run *r = ud;
    ms_tcp_assemble_packet(r->a, pkt);
}

static void on_tick(void *ud, uint64_t now)
{
    conn_run *r = ud;
    ms_tcp_flush(r->a, ms_ns_before(now, r->opts->gap_timeout_ns), ms_ns_before(now, r->opts->idle_timeout_ns));
}

static void on_input_end(void *ud, const char *name)
{
    conn_run *r = ud;
    ms_tcp_flush_all(r->a);
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
    conn_run run = { NULL, NULL, &opts };
    ms_err err;
    run.out = ms_output_open("conn", conn_fields, F_COUNT, opts.format, stdout, NULL, &err);
    if (!run.out) {
        ms_cli_error("%s", err.msg);
        return 1;
    }
    ms_tcp_opts topts;
    ms_cmd_tcp_opts(&opts, &topts);
    ms_tcp_stream_ops ops = { on_new, NULL, NULL, NULL };
    run.a = ms_tcp_assembler_new(&topts, &ops, &run);
    if (run.a)
        ms_tcp_set_removed_hook(run.a, on_removed);
    ms_decode_opts dopts;
    ms_decode_opts_default(&dopts);
    dopts.eager = false;
    ms_decode_ctx *ctx = ms_decode_ctx_new(&dopts);
    if (!run.a || !ctx) {
        ms_cli_error("out of memory creating the assembler");
        ms_tcp_assembler_free(run.a);
        ms_decode_ctx_free(ctx);
        ms_output_close(run.out);
        return 1;
    }
    ms_run_hooks hooks = { on_packet, on_tick, on_input_end };
    rc = ms_cli_run(&opts, ctx, &hooks, &run);
    ms_tcp_flush_all(run.a);
    if (ms_output_close(run.out) != 0 && rc == 0) {
        ms_cli_error("cannot write the connection log: %s", "output error");
        rc = MS_EIO;
    }
    if (opts.stats)
        ms_cmd_print_tcp_stats(stderr, ms_tcp_assembler_stats(run.a));
    ms_tcp_assembler_free(run.a);
    ms_decode_ctx_free(ctx);
    return ms_cli_exit_code(rc);
}
