/* stream.h — raw byte files as one connection (moonshark --stream, check --stream, test cases):
 * the client's bytes, then the server's, each in one call, then both ends (TCP); or one datagram
 * each (UDP). Endpoints and time are settable; the uid comes from the run's seed. */
#ifndef MS_CLI_STREAM_H
#define MS_CLI_STREAM_H

#include <stdbool.h>
#include <stdint.h>

#include "cli/record.h"
#include "cli/xopts.h"
#include "common/common.h"
#include "lua/ms_lua.h"

typedef struct ms_stream_opts {
    const char *client_path;  /* NULL: no client bytes */
    const char *server_path;  /* NULL: no server bytes */
    const char *ports;        /* "CLIENT:SERVER" or "SERVER"; NULL: 40000 and the first port a protocol claims */
    const char *addrs;        /* "CLIENT,SERVER" (IPv4 or IPv6); NULL: 10.0.0.1,10.0.0.2 */
    bool udp;                 /* one datagram per file, on a UDP flow */
    double ts;                /* capture time of the bytes, epoch seconds (default 0) */
    uint64_t seed;            /* uid seed */
} ms_stream_opts;

enum { MS_STREAM_NXOPTS = 5 };

/* The --stream options, for ms_xopts_take: stream, stream-ports, stream-addrs, stream-udp, stream-time. */
void ms_stream_xopts(ms_xopt xs[MS_STREAM_NXOPTS]);

/* Fills o from the taken options (paths are set by the caller). -1 after printing an error. */
int ms_stream_opts_from(const ms_xopt xs[MS_STREAM_NXOPTS], ms_stream_opts *o);

/* Reads the files into a recording; rt's port table gives the default server port. NULL with err
 * filled (a file that cannot be read, a bad address or port). Caller frees with ms_rec_conn_free. */
ms_rec_conn *ms_stream_record(const ms_stream_opts *o, ms_lua *rt, ms_err *err);

/* Reads a whole file; NULL with err filled. Caller frees. */
uint8_t *ms_stream_read_file(const char *path, size_t *len, ms_err *err);

#endif
