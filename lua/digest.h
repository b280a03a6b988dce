/* digest.h — MD5 (RFC 1321) and SHA-256 (FIPS 180-4) of a byte string, for fingerprints that
 * parsers compute (JA3 and JA3S are MD5, JA4 and certificate fingerprints SHA-256). Not for
 * security: MD5 is broken; these only reproduce the hashes other tools print. No state, no
 * allocation. */
#ifndef MS_DIGEST_H
#define MS_DIGEST_H

#include <stddef.h>
#include <stdint.h>

#define MS_MD5_LEN 16
#define MS_SHA256_LEN 32

void ms_md5(const void *data, size_t len, uint8_t out[MS_MD5_LEN]);
void ms_sha256(const void *data, size_t len, uint8_t out[MS_SHA256_LEN]);

/* Writes n bytes as 2n lower-case hex digits and a NUL into out (2n + 1 bytes). */
void ms_digest_hex(const uint8_t *bytes, size_t n, char *out);

/* Adds moonshark.md5(s) and moonshark.sha256(s) (lower-case hex) to the global moonshark table. */
typedef struct lua_State lua_State;
void ms_lua_digest_open(lua_State *L);

#endif
