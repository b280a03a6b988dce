/* dispatch.h — the per-packet path from decoded packets to protocol parsers. TCP segments go
 * through the TCP assembler (tcp/tcp.h) whose in-order bytes feed the parser's data operation
 * (unconsumed bytes are kept by the assembler with keep_from and presented again); UDP datagrams
 * go through a small bounded flow table (uid per flow, idle timeout, oldest evicted at the limit)
 * to its datagram operation. Parsers are reached only through dispatch/parser.h, so the engine
 * never depends on who implements them (the Lua bridge, lua/parser_ops.c).
 * Owns the assembler and the UDP table; never owns the parser. */
#ifndef MS_DISPATCH_H
#define MS_DISPATCH_H

#include <stdint.h>
#include <stdio.h>

#include "decode/packet.h"
#include "dispatch/parser.h"
#include "tcp/tcp.h"

typedef struct ms_dispatch ms_dispatch;

typedef struct ms_dispatch_opts {
    ms_tcp_opts tcp;              /* assembler limits (ms_tcp_opts_default) */
    uint32_t max_udp_flows;       /* default 65536; the least recently seen flow is closed first */
    uint64_t gap_timeout_ns;      /* give up waiting on a TCP hole after this much capture time (30 s) */
    uint64_t idle_timeout_ns;     /* close TCP connections idle this long (300 s) */
    uint64_t udp_idle_timeout_ns; /* close UDP flows idle this long (60 s) */
} ms_dispatch_opts;

typedef struct ms_dispatch_stats {
    uint64_t tcp_packets;         /* packets handed to the assembler */
    uint64_t udp_packets;         /* datagrams handed to the UDP table */
    uint64_t other_packets;       /* neither TCP nor UDP (or not decodable that far) */
    uint64_t udp_flows;           /* UDP flows opened */
    uint64_t udp_flows_evicted;   /* closed because the table was full */
    uint64_t udp_flows_idle;      /* closed by the idle timeout */
    uint64_t keep_truncated;      /* bytes the assembler could not keep for a parser (seen as a gap) */
    uint64_t parser_conn_failures; /* connections the parser could not open */
} ms_dispatch_stats;

void ms_dispatch_opts_default(ms_dispatch_opts *opts);

/* The seed UDP flow uids are drawn under for a run seed (ms_uid_format(seed, ms_uid_id(key,
 * index of the flow's first frame))): `moonshark conn` names UDP flows the same way. */
uint64_t ms_dispatch_udp_uid_seed(uint64_t run_seed);

/* parser is copied (its impl must outlive the dispatcher). NULL on failure with err filled.
 * Caller frees with ms_dispatch_free (after ms_dispatch_finish). */
ms_dispatch *ms_dispatch_new(const ms_parser *parser, const ms_dispatch_opts *opts, ms_err *err);

/* One decoded packet (lazy or eager: decodes up to the transport layer as needed). */
void ms_dispatch_packet(ms_dispatch *d, ms_packet *pkt);

/* ms_dispatch_packet for a packet not decoded yet (lazy): a plain TCP frame goes to the assembler
 * straight from its headers (dispatch/quick.h), anything else through the decoder. */
void ms_dispatch_frame(ms_dispatch *d, ms_packet *pkt);

/* A TCP segment already cut out of its packet (the key and direction as ms_flow_key_of gives
 * them): what ms_dispatch_packet does with a TCP packet, without decoding it again. */
void ms_dispatch_segment(ms_dispatch *d, const ms_flow_key *key, int key_dir, const ms_tcp_segment *seg);

/* Capture time advanced: flush TCP gaps older than gap_timeout, close idle TCP and UDP flows. */
void ms_dispatch_tick(ms_dispatch *d, uint64_t now_ns);

/* End of input: delivers everything queued and closes every connection and flow. */
void ms_dispatch_finish(ms_dispatch *d);

void ms_dispatch_free(ms_dispatch *d);

const ms_dispatch_stats *ms_dispatch_get_stats(const ms_dispatch *d);
const ms_tcp_stats *ms_dispatch_tcp_stats(const ms_dispatch *d);

/* Writes the TCP, UDP and parser-connection counters as "NAME VALUE" lines. */
void ms_dispatch_print_stats(const ms_dispatch *d, FILE *fp);
/* The same for counters summed over several dispatchers (moonshark --threads). */
void ms_dispatch_print_counters(const ms_dispatch_stats *s, const ms_tcp_stats *t, FILE *fp);

#endif
