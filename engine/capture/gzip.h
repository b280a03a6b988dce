/* gzip.h — a gzip'd capture read as if it were plain (gzip.c): a stdio stream that inflates
 * another one with zlib, so libpcap reads .pcap.gz files and gzip bytes on stdin unchanged. */
#ifndef MS_GZIP_H
#define MS_GZIP_H

#include <stdbool.h>
#include <stdio.h>

#include "common/common.h"

/* Whether the next byte of fp starts a gzip stream (0x1f; no capture format starts with it).
 * The byte is pushed back, so fp reads as before. */
bool ms_gzip_next_is_gzip(FILE *fp);

/* A stream of the inflated bytes of compressed (every gzip member in turn). Closing it closes
 * compressed. NULL with err filled when zlib cannot start, or where the C library has no custom
 * streams (then the message says to unpack the file first); compressed is then still the
 * caller's to close. */
FILE *ms_gzip_open(FILE *compressed, const char *name, ms_err *err);

/* A hint for a capture libpcap refused: "compressed with xz: ..." when the first bytes are those
 * of xz, bzip2, zstd or zip, else NULL. */
const char *ms_gzip_compression_hint(const unsigned char *head, size_t n);

#endif
