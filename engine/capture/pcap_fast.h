/* pcap_fast.h — the quick reader of classic pcap files (capture/pcap_fast.c), used by
 * pcap_source.c under libpcap: records are cut out of 256 KiB read() blocks, two calls into
 * libpcap and two fread()s per frame become a few loads. It takes only well-formed 2.4 files and
 * records libpcap would hand over unchanged; at the first record it is not sure of, it stops and
 * libpcap reads from there (pcap_source.c skips the frames already given). */
#ifndef MS_PCAP_FAST_H
#define MS_PCAP_FAST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Optional: where read blocks come from and go (moonshark --threads: frames are read in place by
 * other threads until they release the block). get returns a buffer of `size` bytes (NULL: out of
 * memory); put says the reader is done with a buffer get gave (its frames may still be in use). */
typedef struct ms_pcap_blocks {
    uint8_t *(*get)(void *ud, size_t size);
    void (*put)(void *ud, uint8_t *block);
    void *ud;
} ms_pcap_blocks;

typedef struct ms_pcap_fast {
    int fd;                 /* our own descriptor on the file */
    bool swapped;           /* header fields in the other byte order */
    uint32_t sub_mult;      /* 1 for nanosecond files, 1000 for microsecond ones */
    uint32_t max_caplen;    /* larger records go to libpcap: min(its snapshot, 262144) */
    uint8_t *buf;           /* read buffer (owned) */
    size_t cap, len, pos;   /* buf holds [0, len); the next record starts at pos */
    uint64_t buf_offset;    /* file offset of buf[0] */
    ms_pcap_blocks blocks;  /* set: every read goes into a new block (the tail of the last copied) */
    bool buf_is_block;      /* buf came from blocks.get */
} ms_pcap_fast;

/* One record as the file gives it. */
typedef struct ms_pcap_record {
    const uint8_t *data;    /* borrowed until the next ms_pcap_fast_next */
    uint32_t caplen, wirelen;
    uint64_t ts_ns;
} ms_pcap_record;

/* Takes over reading `path` when it is a classic pcap 2.4 file that libpcap opened with link
 * type `dlt` and snapshot length `snapshot` (libpcap's own values: its adjustments stand).
 * Returns false (nothing held) when the file is anything else, for libpcap to read. */
bool ms_pcap_fast_open(ms_pcap_fast *f, const char *path, int dlt, int snapshot);

/* 1 with *rec filled, 0 at the clean end of the file, -1 when libpcap must take over at this
 * record (not sure of it, a cut record, or a read error: libpcap then says what is wrong). */
int ms_pcap_fast_next(ms_pcap_fast *f, ms_pcap_record *rec);

/* From now on, reads go into blocks from b (before the first read, or at any record). */
void ms_pcap_fast_set_blocks(ms_pcap_fast *f, const ms_pcap_blocks *b);

/* Size of every block get is asked for. */
size_t ms_pcap_fast_block_size(void);

/* File offset of the next record (progress). */
uint64_t ms_pcap_fast_offset(const ms_pcap_fast *f);

void ms_pcap_fast_close(ms_pcap_fast *f);

#endif
