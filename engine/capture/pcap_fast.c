/* pcap_fast.c — classic pcap records cut out of big read() blocks (see pcap_fast.h). libpcap reads
 * a record with two fread()s through stdio (~570 instructions a frame); here a record is four
 * header loads and a bounds check. Anything this reader is not sure libpcap would hand over
 * unchanged sends the rest of the file back to libpcap, so the frames are libpcap's either way. */
#include "capture/pcap_fast.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define BLOCK (256u << 10)        /* bytes per read(): stays in the L2 cache, and large enough
                                   * that the system call costs nothing per frame */
#define MAX_CAPLEN 262144u        /* libpcap's largest record for the link types below */
#define RECORD_HDR 16u

/* Link types (libpcap's DLT values) whose records libpcap passes on untouched: no pseudo-header
 * fix-ups (USB, NFLOG, SocketCAN are rewritten in swapped files) and the 262144-byte maximum. */
static bool plain_linktype(int dlt)
{
    switch (dlt) {
    case 0:   /* NULL */
    case 1:   /* EN10MB */
    case 9:   /* PPP */
    case 12:  /* RAW */
    case 14:  /* RAW (OpenBSD) */
    case 50:  /* PPP_SERIAL */
    case 101: /* LINKTYPE_RAW */
    case 105: /* IEEE802_11 */
    case 108: /* LOOP */
    case 113: /* LINUX_SLL */
    case 127: /* IEEE802_11_RADIO */
    case 228: /* IPV4 */
    case 229: /* IPV6 */
    case 276: /* LINUX_SLL2 */
        return true;
    default:
        return false;
    }
}

static uint32_t get32(const uint8_t *p, bool swapped)
{
    uint32_t v;
    memcpy(&v, p, 4);
    return swapped ? __builtin_bswap32(v) : v;
}

bool ms_pcap_fast_open(ms_pcap_fast *f, const char *path, int dlt, int snapshot)
{
    memset(f, 0, sizeof *f);
    f->fd = -1;
    if (!plain_linktype(dlt) || snapshot <= 0)
        return false;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return false;
    uint8_t h[24];
    if (pread(fd, h, sizeof h, 0) != (ssize_t)sizeof h) {
        close(fd);
        return false;
    }
    uint32_t magic;
    memcpy(&magic, h, 4);
    bool ok = true;
    switch (magic) {
    case 0xa1b2c3d4: f->sub_mult = 1000; break;
    case 0xa1b23c4d: f->sub_mult = 1; break;
    case 0xd4c3b2a1: f->sub_mult = 1000; f->swapped = true; break;
    case 0x4d3cb2a1: f->sub_mult = 1; f->swapped = true; break;
    default: ok = false; /* pcapng, the "modified" format, ... */
    }
    uint16_t major, minor;
    memcpy(&major, h + 4, 2);
    memcpy(&minor, h + 6, 2);
    if (f->swapped) {
        major = __builtin_bswap16(major);
        minor = __builtin_bswap16(minor);
    }
    /* 2.4 only: older files have caplen and len swapped, which libpcap undoes */
    if (!ok || major != 2 || minor != 4 || lseek(fd, 24, SEEK_SET) != 24 ||
        !(f->buf = malloc(BLOCK + MAX_CAPLEN + RECORD_HDR))) {
        close(fd);
        return false;
    }
    f->fd = fd;
    f->cap = BLOCK + MAX_CAPLEN + RECORD_HDR;
    f->max_caplen = (uint32_t)snapshot < MAX_CAPLEN ? (uint32_t)snapshot : MAX_CAPLEN;
    f->buf_offset = 24;
    return true;
}

/* Moves the unread tail to the front and reads one more block after it. Returns the bytes read,
 * 0 at the end of the file, -1 on error. */
size_t ms_pcap_fast_block_size(void)
{
    return BLOCK + MAX_CAPLEN + RECORD_HDR;
}

void ms_pcap_fast_set_blocks(ms_pcap_fast *f, const ms_pcap_blocks *b)
{
    f->blocks = *b;
}

/* Block mode: the unread tail moves into a new block; the old one goes back to its owner. */
static int next_block(ms_pcap_fast *f)
{
    uint8_t *nb = f->blocks.get(f->blocks.ud, f->cap);
    if (!nb)
        return -1;
    size_t tail = f->len - f->pos;
    memcpy(nb, f->buf + f->pos, tail);
    if (f->buf_is_block)
        f->blocks.put(f->blocks.ud, f->buf);
    else
        free(f->buf);
    f->buf = nb;
    f->buf_is_block = true;
    f->buf_offset += f->pos;
    f->pos = 0;
    f->len = tail;
    return 0;
}

static ssize_t refill(ms_pcap_fast *f)
{
    size_t tail = f->len - f->pos;
    if (f->blocks.get) {
        if (next_block(f) != 0)
            return -1;
    } else if (f->pos) {
        memmove(f->buf, f->buf + f->pos, tail);
        f->buf_offset += f->pos;
        f->pos = 0;
        f->len = tail;
    }
    size_t room = f->cap - f->len;
    if (room > BLOCK)
        room = BLOCK;
    for (;;) {
        ssize_t n = read(f->fd, f->buf + f->len, room);
        if (n < 0 && errno == EINTR)
            continue;
        if (n > 0)
            f->len += (size_t)n;
        return n;
    }
}

int ms_pcap_fast_next(ms_pcap_fast *f, ms_pcap_record *rec)
{
    for (;;) {
        size_t have = f->len - f->pos;
        if (have >= RECORD_HDR) {
            const uint8_t *h = f->buf + f->pos;
            uint32_t caplen = get32(h + 8, f->swapped);
            uint32_t wirelen = get32(h + 12, f->swapped);
            if (caplen > f->max_caplen || caplen > wirelen)
                return -1; /* libpcap cuts, rejects or may fix such a record: its call */
            if (have >= RECORD_HDR + caplen) {
                /* the seconds are unsigned 32-bit (times past 2038 stay positive, as
                 * pcap_source.c reads them through libpcap); the sub-second field is signed in
                 * libpcap, widened before scaling (files with one of 2^31 and more exist) */
                uint64_t sec = get32(h, f->swapped);
                int64_t sub = (int32_t)get32(h + 4, f->swapped);
                rec->data = h + RECORD_HDR;
                rec->caplen = caplen;
                rec->wirelen = wirelen;
                rec->ts_ns = sec * 1000000000ULL + (uint64_t)(sub * f->sub_mult);
                f->pos += RECORD_HDR + caplen;
                return 1;
            }
        }
        ssize_t n = refill(f);
        if (n < 0)
            return -1;
        if (n == 0)
            return f->len == f->pos ? 0 : -1; /* a cut record: libpcap names it */
    }
}

uint64_t ms_pcap_fast_offset(const ms_pcap_fast *f)
{
    return f->buf_offset + f->pos;
}

void ms_pcap_fast_close(ms_pcap_fast *f)
{
    if (f->fd >= 0)
        close(f->fd);
    if (f->buf_is_block)
        f->blocks.put(f->blocks.ud, f->buf);
    else
        free(f->buf);
    f->fd = -1;
    f->buf = NULL;
}
