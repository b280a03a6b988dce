/* pktbuild.h — small packet builders for tests, so a scenario reads like its sentence:
 *     pb b; pb_init(&b);
 *     pb_eth(&b, 0x0800); pb_ipv4(&b, "10.0.0.1", "10.0.0.2", 6); pb_tcp(&b, 1234, 80, 1, 0, MS_TCP_SYN);
 *     pb_text(&b, "GET / HTTP/1.1\r\n"); pb_finish(&b);
 *     ms_frame f = pb_frame(&b, 1);   // linktype 1 = Ethernet
 * Headers are appended in order; pb_finish fills every IP/UDP length and the IPv4 checksums from
 * the bytes that follow each header (so call it after the last payload byte, before pb_pad). */
#ifndef MS_TEST_PKTBUILD_H
#define MS_TEST_PKTBUILD_H

#include <stddef.h>
#include <stdint.h>

#include "decode/packet.h"

#define PB_MAX 70000
#define PB_MAX_OPEN 64

typedef struct pb {
    uint8_t buf[PB_MAX];
    uint32_t len;
    struct { uint32_t off; uint8_t kind; } open[PB_MAX_OPEN]; /* headers whose length pb_finish fills */
    int nopen;
} pb;

void pb_init(pb *b);
void pb_bytes(pb *b, const void *p, size_t n);
void pb_text(pb *b, const char *s);
void pb_u8(pb *b, uint8_t v);
void pb_be16(pb *b, uint16_t v);
void pb_be32(pb *b, uint32_t v);
void pb_zeros(pb *b, size_t n);

/* link layers */
void pb_eth(pb *b, uint16_t type);                  /* 02:00:00:00:00:02 <- 02:00:00:00:00:01 */
void pb_vlan(pb *b, uint16_t vid, uint16_t type);   /* one 802.1Q/802.1ad tag body (TCI + type) */
void pb_mpls(pb *b, uint32_t label, int bottom);
void pb_pppoe(pb *b, uint16_t ppp_proto);           /* PPPoE session header + 2-byte PPP protocol */
void pb_sll(pb *b, uint16_t proto);
void pb_sll2(pb *b, uint16_t proto);
/* network */
void pb_ipv4(pb *b, const char *src, const char *dst, uint8_t proto);
void pb_ipv4_frag(pb *b, const char *src, const char *dst, uint8_t proto, uint16_t id, uint32_t offset, int more);
void pb_ipv6(pb *b, const char *src, const char *dst, uint8_t next);
void pb_ipv6_ext(pb *b, uint8_t next, uint8_t len8);  /* generic ext header of (len8+1)*8 bytes */
void pb_ipv6_frag(pb *b, uint8_t next, uint32_t id, uint32_t offset, int more);
void pb_gre(pb *b, uint16_t flags, uint16_t proto);   /* plus the optional words the flags ask for */
/* transport */
void pb_tcp(pb *b, uint16_t sport, uint16_t dport, uint32_t seq, uint32_t ack, uint8_t flags);
void pb_tcp_opts(pb *b, uint16_t sport, uint16_t dport, uint32_t seq, uint32_t ack, uint8_t flags,
                 const uint8_t *opts, size_t optlen); /* optlen padded to 4 with NOPs */
void pb_udp(pb *b, uint16_t sport, uint16_t dport);
void pb_icmp(pb *b, uint8_t type, uint8_t code);

/* Fills lengths and checksums of every header added so far. */
void pb_finish(pb *b);
/* Appends n bytes of link-layer padding (not counted in any IP length). */
void pb_pad(pb *b, size_t n);
/* A frame over the builder's bytes (borrowed). */
ms_frame pb_frame(const pb *b, int linktype);

/* Parses a dotted IPv4 or an IPv6 address into out (4 or 16 bytes); returns the family. */
int pb_addr(const char *s, uint8_t out[16]);

#endif

#include "decode/decode.h"

/* Decodes the builder's frame (eager) into *pkt and returns its stack (static buffer). */
const char *pb_stack(ms_decode_ctx *ctx, const pb *b, int linktype, ms_packet *pkt);

/* Decodes every prefix of the frame (lengths 0..len-1), each copied into a heap buffer of exactly
 * that length so a sanitizer build catches any over-read, eagerly and lazily. Returns the number
 * of prefixes whose decode claimed more bytes than it had or differed lazy vs eager (0 is good). */
int pb_decode_every_prefix(const pb *b, int linktype);
