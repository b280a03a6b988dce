/* parser.h — the interface through which the dispatcher hands streams and datagrams to protocol
 * parsers. The engine defines it and never knows who implements it: the Lua bridge does
 * (lua/parser_ops.c); a C parser, a test double or a worker thread's parser plugs in the same way.
 * Per connection the order is open, then data* / gap* / last per direction, then close exactly once
 * (UDP flows: open, datagram*, close). Every byte pointer is borrowed for the call. */
#ifndef MS_PARSER_H
#define MS_PARSER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "flow/flow.h"

/* Directions as parsers see them (the same numbers as MS_TCP_CLIENT / MS_TCP_SERVER). */
enum { MS_PARSER_CLIENT = 0, MS_PARSER_SERVER = 1 };

/* What a parser learns about a new connection or flow. */
typedef struct ms_parser_conn_info {
    const char *uid;          /* copied by the parser; NULL gives "-" */
    ms_endpoint client;       /* orig_h / orig_p */
    ms_endpoint server;       /* resp_h / resp_p */
    bool udp;                 /* a UDP flow (else a TCP connection) */
    bool client_guessed;      /* no SYN seen: the client is the first packet's sender */
    const char *protocol;     /* parser to use by name; NULL = port table, then detection */
    uint64_t ts_ns;           /* capture time of the first packet */
} ms_parser_conn_info;

/* Capture time of the byte at `offset` of the bytes being presented. */
typedef uint64_t (*ms_parser_ts_fn)(void *ud, uint64_t offset);

typedef struct ms_parser_ops {
    /* A new connection; returns the parser's handle, NULL when it could not open one (counted by
     * the dispatcher). */
    void *(*open)(void *impl, const ms_parser_conn_info *info);
    /* In-order bytes of one direction; returns how many were consumed from the front. The caller
     * presents the rest again, first, with the next bytes of that direction. */
    size_t (*data)(void *conn, int dir, const uint8_t *bytes, size_t len, uint64_t ts_ns,
                   ms_parser_ts_fn ts_fn, void *ts_ud);
    /* The last bytes of a direction (len may be 0): the direction ends after them. */
    void (*last)(void *conn, int dir, const uint8_t *bytes, size_t len, uint64_t ts_ns);
    /* n bytes of a direction were lost; the unconsumed tail the caller held is dropped. */
    void (*gap)(void *conn, int dir, uint64_t n);
    /* One UDP datagram. */
    void (*datagram)(void *conn, int dir, const uint8_t *bytes, size_t len, uint64_t ts_ns);
    /* True when the parser wants no more bytes of this connection (ended or failed). */
    bool (*done)(const void *conn);
    /* Ends both directions and frees the handle. reason: "fin", "rst", "idle", "flush",
     * "evicted", "memory". */
    void (*close)(void *conn, const char *reason);
    /* Whether a parser is registered for these UDP ports (decides which side of a new flow is
     * the client when the first datagram is a response). */
    bool (*claims_udp_port)(const void *impl, uint16_t port);
} ms_parser_ops;

/* A parser implementation: its operations and the object they act on. */
typedef struct ms_parser {
    const ms_parser_ops *ops;
    void *impl;
} ms_parser;

#endif
