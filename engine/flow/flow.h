/* flow.h — the symmetric flow key of a TCP/UDP packet and the uid printed in every record.
 * Both directions of a connection map to one key; the packet's direction says which side sent it.
 * Pure functions over the packet: no table lives here (the TCP assembler and the UDP dispatch own
 * their tables). */
#ifndef MS_FLOW_H
#define MS_FLOW_H

#include <stddef.h>
#include <stdint.h>

#include "decode/packet.h"

typedef struct ms_endpoint {
    uint8_t addr[16];  /* IPv4 in the first 4 bytes, rest zero */
    uint16_t port;
    uint8_t family;    /* 4 or 6 */
} ms_endpoint;

/* Canonical key: endpoint a sorts before endpoint b (address bytes, then port). */
typedef struct ms_flow_key {
    uint8_t a_addr[16];
    uint8_t b_addr[16];
    uint16_t a_port;
    uint16_t b_port;
    uint8_t family;    /* 4 or 6 */
    uint8_t proto;     /* 6 TCP, 17 UDP */
    uint8_t pad[2];    /* always zero, so keys compare with memcmp */
} ms_flow_key;

enum { MS_DIR_A_TO_B = 0, MS_DIR_B_TO_A = 1 };

/* Builds the key of a decoded TCP/UDP packet; *dir is MS_DIR_A_TO_B when the packet's source is a.
 * Returns 0, or MS_EINVAL when the packet has no IP + TCP/UDP. */
int ms_flow_key_of(const ms_packet *pkt, ms_flow_key *key, int *dir);

/* Well-mixed hash of a key (same for both directions by construction). */
uint64_t ms_flow_hash(const ms_flow_key *key);

/* The endpoints of one side of a key: side 0 = a, 1 = b. */
ms_endpoint ms_flow_endpoint(const ms_flow_key *key, int side);

/* IP-level bytes of the packet's innermost IP header (the one its transport header follows; never
 * a header quoted inside an ICMP error): IPv4 total length, or IPv6 payload length + 40, as
 * the header says (Zeek's ip_bytes). 0 when the packet has no such IP layer decoded. */
uint32_t ms_flow_ip_bytes(const ms_packet *pkt);

/* Formats an address ("10.0.0.1", "2001:db8::1"); returns buf. size >= 46 is always enough. */
char *ms_addr_format(const uint8_t *addr, int family, char *buf, size_t size);

/* Zeek-style connection uid ("C" + base62) of the number id under a run seed: the same seed and id
 * give the same uid. buf needs 20 bytes. */
void ms_uid_format(uint64_t seed, uint64_t id, char *buf, size_t size);

/* The number that names a connection: its key and the run-wide index of the frame that opened it
 * (ms_frame.index). No frame opens two connections, so it is unique within a run; and it does not
 * depend on which table or worker thread holds the connection. */
uint64_t ms_uid_id(const ms_flow_key *key, uint64_t frame_index);

#endif
