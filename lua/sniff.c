/* sniff.c — a body's media type from its first bytes, for http.log's orig_mime_types and
 * resp_mime_types. Zeek tells types by its own file signatures, each with a strength (the
 * strongest match wins); the text formats among them (HTML, XML, JSON, scripts, plain text) are
 * decided here by rules written after what those signatures match, because libmagic answers
 * differently for them (application/json for Zeek's text/json) and takes half a millisecond on
 * every text body. Binary bodies go to libmagic (its MIME names, a few renamed to Zeek's), with a
 * small cache keyed on the first 64 bytes, so a run of the same image type asks once. Bodies with
 * Content-Encoding gzip or deflate are inflated first, as Zeek does. */
#include "lua/sniff.h"

#include <magic.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "flow/flow.h"

#define SNIFF_BYTES_CAP ((size_t)16 << 20) /* most bytes all halves may hold while sniffing */
#define CACHE_SLOTS 64
#define CACHE_KEY 64

typedef struct cache_slot {
    uint8_t key[CACHE_KEY];
    uint8_t len;               /* bytes of key used; 0 = empty */
    bool longer;               /* the body had more than len bytes */
    char type[64];             /* libmagic's answer as logged, "" for none */
} cache_slot;

#define INTERNED 256
#define SPARE_BUFFERS 64

struct ms_lua_sniffer {
    magic_t magic;             /* NULL until the first binary body, or when it cannot load */
    bool magic_failed;
    cache_slot cache[CACHE_SLOTS];
    char names[INTERNED][64];  /* libmagic's names, kept for the run (halves point at them) */
    int nnames;
    uint8_t *spare[SPARE_BUFFERS]; /* sniff buffers of finished bodies, for the next ones */
    int nspare;
};

/* ---- small matchers ------------------------------------------------------------------------ */

static bool is_blank(uint8_t c)
{
    return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

static size_t skip_blanks(const uint8_t *p, size_t n, size_t i)
{
    while (i < n && is_blank(p[i]))
        i++;
    return i;
}

/* s (lower case ASCII) at p[i], case-insensitively. */
static bool word_at(const uint8_t *p, size_t n, size_t i, const char *s)
{
    size_t k = strlen(s);
    if (i > n || n - i < k)
        return false;
    for (size_t j = 0; j < k; j++) {
        uint8_t c = p[i + j];
        if (c >= 'A' && c <= 'Z')
            c = (uint8_t)(c - 'A' + 'a');
        if (c != (uint8_t)s[j])
            return false;
    }
    return true;
}

static bool exact_at(const uint8_t *p, size_t n, size_t i, const char *s)
{
    size_t k = strlen(s);
    return i <= n && n - i >= k && memcmp(p + i, s, k) == 0;
}

/* Where s (exact) next starts in p[i, n), or n. */
static size_t find(const uint8_t *p, size_t n, size_t i, const char *s)
{
    size_t k = strlen(s);
    while (i + k <= n) {
        const uint8_t *c = memchr(p + i, (uint8_t)s[0], n - k + 1 - i);
        if (!c)
            return n;
        i = (size_t)(c - p);
        if (memcmp(p + i, s, k) == 0)
            return i;
        i++;
    }
    return n;
}

/* Blanks and <!-- comments --> from i on. */
static size_t skip_blanks_comments(const uint8_t *p, size_t n, size_t i)
{
    for (;;) {
        i = skip_blanks(p, n, i);
        if (!exact_at(p, n, i, "<!--"))
            return i;
        size_t end = find(p, n, i + 4, "-->");
        if (end == n)
            return i;
        i = end + 3;
    }
}

static size_t utf8_bom(const uint8_t *p, size_t n)
{
    return n >= 3 && p[0] == 0xef && p[1] == 0xbb && p[2] == 0xbf ? 3 : 0;
}

/* ---- the text rules ------------------------------------------------------------------------- */

typedef struct best {
    const char *type;
    int strength;
} best;

static void offer(best *b, const char *type, int strength)
{
    if (!b->type || strength > b->strength) {
        b->type = type;
        b->strength = strength;
    }
}

/* "#!/usr/bin/env python" and the like: at most 15 characters before "bin/". */
static void shebang(const uint8_t *p, size_t n, best *b)
{
    if (!exact_at(p, n, 0, "#!"))
        return;
    size_t i = 2, lim = MS_MIN(n, (size_t)2 + 15 + 1);
    size_t at = n;
    for (size_t j = i + 1; j < lim && j + 4 <= n; j++) { /* 1 to 15 characters, then bin/ */
        if (p[j - 1] == '\n')
            break;
        if (exact_at(p, n, j, "bin/")) {
            at = j + 4;
            break;
        }
    }
    if (at >= n)
        return;
    if (exact_at(p, n, at, "env") && at + 3 < n && is_blank(p[at + 3]))
        at = skip_blanks(p, n, at + 3);
    static const struct {
        const char *name, *type;
        int strength;
    } interpreters[] = {
        { "bash", "text/x-shellscript", 250 }, { "tcsh", "text/x-shellscript", 250 },
        { "csh", "text/x-shellscript", 250 }, { "zsh", "text/x-shellscript", 250 },
        { "fash", "text/x-shellscript", 250 }, { "aesh", "text/x-shellscript", 250 },
        { "ksh", "text/x-shellscript", 250 }, { "sh", "text/x-shellscript", 250 },
        { "perl", "text/x-perl", 60 }, { "ruby", "text/x-ruby", 60 }, { "python", "text/x-python", 60 },
        { "gawk", "text/x-awk", 60 }, { "nawk", "text/x-awk", 60 }, { "awk", "text/x-awk", 60 },
        { "wish", "text/x-tcl", 60 }, { "tcl", "text/x-tcl", 60 }, { "lua", "text/x-lua", 49 },
        { "node", "application/javascript", 60 }, { "php", "text/x-php", 60 },
    };
    for (size_t k = 0; k < MS_ARRAY_LEN(interpreters); k++)
        if (exact_at(p, n, at, interpreters[k].name)) {
            offer(b, interpreters[k].type, interpreters[k].strength);
            return;
        }
}

/* Markup: blanks and comments, an optional <?xml ...?> declaration, then the first tag. */
static void markup(const uint8_t *p, size_t n, best *b)
{
    size_t i = skip_blanks_comments(p, n, utf8_bom(p, n));
    if (exact_at(p, n, i, "<?xml ")) {
        offer(b, "application/xml", 10);
        size_t end = find(p, n, i, "?>");
        if (end == n)
            return;
        i = skip_blanks_comments(p, n, end + 2);
    }
    if (word_at(p, n, i, "<!doctype")) {
        size_t j = i + 9;
        if (j < n && p[j] == ' ') {
            while (j < n && p[j] == ' ')
                j++;
            if (word_at(p, n, j, "html"))
                offer(b, "text/html", 100);
            else if (word_at(p, n, j, "cross-domain-policy"))
                offer(b, "text/x-cross-domain-policy", 49);
        }
        return;
    }
    if (word_at(p, n, i, "<html"))
        offer(b, "text/html", 100);
    else if (word_at(p, n, i, "<meta") && i + 5 < n && p[i + 5] == ' ') {
        size_t j = i + 5;
        while (j < n && p[j] == ' ')
            j++;
        if (word_at(p, n, j, "http-equiv"))
            offer(b, "text/html", 100);
    } else if (word_at(p, n, i, "<head") || word_at(p, n, i, "<title") || word_at(p, n, i, "<body")) {
        offer(b, "text/html", 20);
    } else if (word_at(p, n, i, "<rss")) {
        size_t close = find(p, n, i, ">");
        bool atom = false;
        for (size_t j = i; j + 10 <= close && !atom; j++)
            atom = word_at(p, n, j, "xmlns:atom");
        offer(b, atom ? "text/atom" : "text/rss", atom ? 100 : 90);
    } else if (word_at(p, n, i, "<feed")) {
        size_t close = find(p, n, i, ">");
        if (find(p, close, i, "http://www.w3.org/2005/Atom") < close)
            offer(b, "text/atom", 100);
    } else if (word_at(p, n, i, "<soap:envelope") || word_at(p, n, i, "<soap-env:envelope")) {
        offer(b, "application/soap+xml", 49);
    } else if (word_at(p, n, i, "<cross-domain-policy")) {
        offer(b, "text/x-cross-domain-policy", 49);
    } else if (word_at(p, n, i, "<methodresponse>")) {
        offer(b, "application/xml-rpc", 49);
    }
}

static bool json_number(const uint8_t *p, size_t n, size_t *i)
{
    size_t j = *i;
    while (j < n && p[j] >= '0' && p[j] <= '9')
        j++;
    if (j == *i)
        return false;
    if (j < n && p[j] == '.') {
        size_t k = j + 1;
        while (k < n && p[k] >= '0' && p[k] <= '9')
            k++;
        if (k > j + 1)
            j = k;
    }
    *i = j;
    return true;
}

static bool json_string(const uint8_t *p, size_t n, size_t *i)
{
    if (*i >= n || p[*i] != '"')
        return false;
    size_t end = *i + 1;
    while (end < n && p[end] != '"')
        end++;
    if (end >= n || end == *i + 1)
        return false; /* one character at least, and the closing quote */
    *i = end + 1;
    return true;
}

/* JSON as Zeek's signatures see it: an object whose first member has a name and the start of a
 * value, an array whose first element is a string, number or literal followed by ',' (or an
 * object or array), or an empty {} or [] that is the whole body. */
static void json(const uint8_t *p, size_t n, best *b)
{
    size_t i = skip_blanks(p, n, utf8_bom(p, n));
    if (i >= n)
        return;
    if (p[i] == '{' || p[i] == '[') {
        size_t j = skip_blanks(p, n, i + 1);
        if (j < n && p[j] == (p[i] == '{' ? '}' : ']') && skip_blanks(p, n, j + 1) == n) {
            offer(b, "text/json", 0);
            return;
        }
    }
    if (p[i] == '{') {
        size_t j = skip_blanks(p, n, i + 1);
        if (j < n && p[j] == '"') {
            if (!json_string(p, n, &j))
                return;
        } else if (j < n && ((p[j] | 0x20) >= 'a' && (p[j] | 0x20) <= 'z')) {
            while (j < n && (((p[j] | 0x20) >= 'a' && (p[j] | 0x20) <= 'z') || (p[j] >= '0' && p[j] <= '9') ||
                             p[j] == '_' || p[j] == '\\'))
                j++;
        } else {
            return;
        }
        j = skip_blanks(p, n, j);
        if (j >= n || p[j] != ':')
            return;
        j = skip_blanks(p, n, j + 1);
        if (j < n && (p[j] == '"' || p[j] == '[' || p[j] == '{' || (p[j] >= '0' && p[j] <= '9') ||
                      exact_at(p, n, j, "true") || exact_at(p, n, j, "false")))
            offer(b, "text/json", 1);
    } else if (p[i] == '[') {
        size_t j = skip_blanks(p, n, i + 1);
        if (j < n && (p[j] == '{' || p[j] == '[')) {
            offer(b, "text/json", 1);
            return;
        }
        bool value = json_string(p, n, &j) || json_number(p, n, &j);
        if (!value && (exact_at(p, n, j, "true") || exact_at(p, n, j, "false"))) {
            j += p[j] == 't' ? 4 : 5;
            value = true;
        }
        j = skip_blanks(p, n, j);
        if (value && j < n && p[j] == ',')
            offer(b, "text/json", 1);
    }
}

static void javascript(const uint8_t *p, size_t n, best *b)
{
    size_t i = skip_blanks(p, n, 0);
    if (word_at(p, n, i, "<script")) {
        size_t j = i + 7;
        if (j < n && (p[j] == ' ' || p[j] == '\t')) {
            j = skip_blanks(p, n, j);
            size_t k = word_at(p, n, j, "type=") ? j + 5 : word_at(p, n, j, "language=") ? j + 9 : 0;
            if (k) {
                if (k < n && (p[k] == '"' || p[k] == '\''))
                    k++;
                if (word_at(p, n, k, "text/"))
                    k += 5;
                if (word_at(p, n, k, "javascript"))
                    offer(b, "application/javascript", 60);
            }
        } else if (j < n && p[j] == '>') {
            size_t k = skip_blanks(p, n, j + 1);
            if (exact_at(p, n, k, "var ") || exact_at(p, n, k, "function "))
                offer(b, "application/javascript", 60);
        }
        return;
    }
    if (exact_at(p, n, i, "for (;;);") || exact_at(p, n, i, "document.write(") ||
        exact_at(p, n, i, "document.writeln(") || exact_at(p, n, i, "document.write (") ||
        exact_at(p, n, i, "document.writeln ("))
        offer(b, "application/javascript", 60);
    if (exact_at(p, n, 0, "(function()")) {
        size_t k = 11;
        while (k < n && (p[k] == ' ' || p[k] == '\t' || p[k] == '\n'))
            k++;
        if (k < n && p[k] == '{')
            offer(b, "application/javascript", 60);
    }
}

/* Zeek's plain text: an optional byte order mark, then ten printable or blank characters. */
static bool plain_text(const uint8_t *p, size_t n)
{
    size_t i = utf8_bom(p, n);
    if (!i) {
        if (n >= 4 && p[0] == 0 && p[1] == 0 && p[2] == 0xfe && p[3] == 0xff)
            i = 4;
        else if (n >= 2 && p[0] == 0xfe && p[1] == 0xff)
            i = 2;
        else if (n >= 2 && p[0] == 0xff && p[1] == 0xfe)
            i = n >= 4 && p[2] == 0 && p[3] == 0 ? 4 : 2;
    }
    if (n - i < 10)
        return false;
    for (size_t k = i; k < i + 10; k++)
        if (!((p[k] >= 0x20 && p[k] <= 0x7e) || is_blank(p[k]) || p[k] == '\v' || p[k] == '\f'))
            return false;
    return true;
}

/* Mostly text: no NUL and at most one other control byte (tab, CR, LF, FF and VT aside) in the
 * first 64 bytes. Binary formats have NULs or control bytes there; libmagic would answer text/...
 * for the rest, which Zeek's signatures do not name, so it is not asked. */
static bool texty(const uint8_t *p, size_t n)
{
    size_t k = MS_MIN(n, (size_t)64), controls = 0;
    for (size_t i = 0; i < k; i++) {
        uint8_t c = p[i];
        if (c == 0)
            return false;
        if ((c < 0x20 && !is_blank(c) && c != '\f' && c != '\v') || c == 0x7f)
            controls++;
    }
    return controls <= 1;
}

/* The first line holds "<?php" (Zeek's text/x-php, strength 40). */
static void php(const uint8_t *p, size_t n, best *b)
{
    size_t nl = find(p, n, 0, "\n");
    if (find(p, nl, 0, "<?php") < nl)
        offer(b, "text/x-php", 40);
}

/* Types Zeek tells by bytes it names itself (OCSP over HTTP, Flash, PEM, Java Web Start). */
static void zeek_own(const uint8_t *p, size_t n, best *b)
{
    static const uint8_t ocsp_req[] = { 0x06, 0x05, 0x2b, 0x0e, 0x03, 0x02, 0x1a };
    static const uint8_t ocsp_resp[] = { 0x06, 0x09, 0x2b, 0x06, 0x01, 0x05, 0x05, 0x07, 0x30, 0x01, 0x01 };
    for (size_t at = 11; at <= 19; at++) {
        if (at + sizeof ocsp_req <= n && memcmp(p + at, ocsp_req, sizeof ocsp_req) == 0)
            offer(b, "application/ocsp-request", 71);
        if (at + sizeof ocsp_resp <= n && memcmp(p + at, ocsp_resp, sizeof ocsp_resp) == 0)
            offer(b, "application/ocsp-response", 71);
    }
    if (n >= 3 && (p[0] == 'F' || p[0] == 'C' || p[0] == 'Z') && p[1] == 'W' && p[2] == 'S')
        offer(b, "application/x-shockwave-flash", 60);
    if (exact_at(p, n, 0, "-----BEGIN CERTIFICATE-----"))
        offer(b, "application/x-pem", 0);
    if (exact_at(p, n, 0, "<jnlp "))
        offer(b, "application/x-java-jnlp-file", 100);
    /* printable starts of binary formats, which the plain-text rule would otherwise take */
    if (exact_at(p, n, 0, "%PDF-"))
        offer(b, "application/pdf", 80);
    if (exact_at(p, n, 0, "%!PS"))
        offer(b, "application/postscript", 80);
    if (exact_at(p, n, 0, "{\\rtf"))
        offer(b, "text/rtf", 80);
}

/* ---- libmagic ------------------------------------------------------------------------------- */

/* libmagic's MIME names where Zeek's signatures (made from an older libmagic) say otherwise. */
static const char *zeek_name(const char *m)
{
    static const char *const renames[][2] = {
        { "application/gzip", "application/x-gzip" },
        { "image/vnd.microsoft.icon", "image/x-icon" },
        { "image/bmp", "image/x-ms-bmp" },
        { "application/vnd.rar", "application/x-rar" },
        { "application/x-pie-executable", "application/x-executable" },
        { "application/x-mach-binary", "application/x-mach-o-executable" },
        { "application/vnd.microsoft.portable-executable", "application/x-dosexec" },
        { "application/json", "text/json" },
    };
    for (size_t i = 0; i < MS_ARRAY_LEN(renames); i++)
        if (strcmp(m, renames[i][0]) == 0)
            return renames[i][1];
    return m;
}

static struct ms_lua_sniffer *sniffer_of(ms_lua *rt)
{
    if (!rt->sniffer)
        rt->sniffer = calloc(1, sizeof *rt->sniffer);
    return rt->sniffer;
}

/* A type that stays valid for the run: the rules' names are static; libmagic's (in the cache,
 * which is overwritten) are copied once into the sniffer's table (NULL when it is full). */
static const char *intern(ms_lua *rt, const char *type)
{
    struct ms_lua_sniffer *s = rt->sniffer;
    if (!s || type < (const char *)s || type >= (const char *)(s + 1))
        return type; /* not from the sniffer: a string literal */
    for (int i = 0; i < s->nnames; i++)
        if (strcmp(s->names[i], type) == 0)
            return s->names[i];
    if (s->nnames == INTERNED)
        return NULL;
    snprintf(s->names[s->nnames], sizeof s->names[0], "%s", type);
    return s->names[s->nnames++];
}

/* libmagic's type of a binary body (with the cache in front), or NULL. */
static const char *libmagic_type(ms_lua *rt, const uint8_t *p, size_t n)
{
    struct ms_lua_sniffer *s = sniffer_of(rt);
    if (!s)
        return NULL;
    size_t klen = MS_MIN(n, (size_t)CACHE_KEY);
    bool longer = n > klen;
    uint64_t h = 1469598103934665603ULL;
    for (size_t i = 0; i < klen; i++)
        h = (h ^ p[i]) * 1099511628211ULL;
    cache_slot *slot = &s->cache[(h ^ (h >> 29) ^ (uint64_t)longer) % CACHE_SLOTS];
    if (slot->len == klen && slot->longer == longer && memcmp(slot->key, p, klen) == 0)
        return slot->type[0] ? slot->type : NULL;
    if (!s->magic && !s->magic_failed) {
        /* text never comes here: skip libmagic's text tests; compressed data is not opened */
        int flags = MAGIC_MIME_TYPE | MAGIC_NO_CHECK_COMPRESS | MAGIC_NO_CHECK_TEXT | MAGIC_NO_CHECK_ENCODING |
                    MAGIC_NO_CHECK_CSV | MAGIC_NO_CHECK_JSON | MAGIC_NO_CHECK_TOKENS;
        s->magic = magic_open(flags);
        if (!s->magic || magic_load(s->magic, NULL) != 0) {
            if (s->magic)
                magic_close(s->magic);
            s->magic = NULL;
            s->magic_failed = true; /* no database: binary bodies get no type (counted) */
        }
    }
    const char *m = s->magic ? magic_buffer(s->magic, p, n) : NULL;
    rt->stats.mime_libmagic += s->magic != NULL;
    if (m && (strcmp(m, "application/octet-stream") == 0 || strncmp(m, "text/", 5) == 0 || !strchr(m, '/')))
        m = NULL; /* nothing recognised (text is told by the rules, not here) */
    if (m)
        m = zeek_name(m);
    memcpy(slot->key, p, klen);
    slot->len = (uint8_t)klen;
    slot->longer = longer;
    snprintf(slot->type, sizeof slot->type, "%s", m ? m : "");
    return slot->type[0] ? slot->type : NULL;
}

const char *ms_lua_mime_type(ms_lua *rt, const uint8_t *p, size_t n)
{
    if (n == 0)
        return NULL;
    best b = { NULL, 0 };
    shebang(p, n, &b);
    markup(p, n, &b);
    json(p, n, &b);
    javascript(p, n, &b);
    php(p, n, &b);
    zeek_own(p, n, &b);
    if (b.type)
        return b.type;
    if (plain_text(p, n))
        return "text/plain"; /* Zeek's weakest signature: text with nothing stronger */
    if (texty(p, n))
        return NULL; /* text after all (a stray control byte early on): libmagic would say text/... */
    return libmagic_type(rt, p, n);
}

/* ---- collecting a body while it is skipped --------------------------------------------------- */

int ms_lua_sniff_arg(lua_State *L, int idx)
{
    switch (lua_type(L, idx)) {
    case LUA_TNONE:
    case LUA_TNIL:
        return MS_SNIFF_NONE;
    case LUA_TBOOLEAN:
        return lua_toboolean(L, idx) ? MS_SNIFF_IDENTITY : MS_SNIFF_NONE;
    case LUA_TSTRING: {
        const char *v = lua_tostring(L, idx);
        while (*v == ' ' || *v == '\t')
            v++;
        if (strncmp(v, "gzip", 4) == 0 || strncmp(v, "x-gzip", 6) == 0 || strncmp(v, "GZIP", 4) == 0)
            return MS_SNIFF_GZIP;
        if (strncmp(v, "deflate", 7) == 0 || strncmp(v, "DEFLATE", 7) == 0)
            return MS_SNIFF_DEFLATE;
        return MS_SNIFF_IDENTITY;
    }
    default:
        return luaL_error(L, "the sniff argument must be nil, a boolean or the body's Content-Encoding");
    }
}

void ms_lua_sniff_begin(ms_lua_half *h, int coding)
{
    h->sniff_coding = (uint8_t)coding;
    h->sniff_len = 0;
    h->sniff_stopped = false;
    h->sniff_done = false;
    h->sniff_type = NULL;
}

/* Inflates a gzip or zlib (or, failing that, raw deflate) start of a body into out; returns the
 * bytes made (what inflated before an error or the end of the input counts). */
static size_t inflate_start(const uint8_t *in, size_t n, uint8_t *out, size_t cap, bool raw)
{
    z_stream z;
    memset(&z, 0, sizeof z);
    if (inflateInit2(&z, raw ? -15 : 15 + 32) != Z_OK)
        return 0;
    z.next_in = (Bytef *)in;
    z.avail_in = (uInt)n;
    z.next_out = out;
    z.avail_out = (uInt)cap;
    int rc = inflate(&z, Z_SYNC_FLUSH);
    size_t made = cap - z.avail_out;
    inflateEnd(&z);
    if (rc == Z_DATA_ERROR && made == 0 && !raw)
        return inflate_start(in, n, out, cap, true); /* "deflate" sent without its zlib header */
    return made;
}

/* Tells the type of the body's first bytes (undoing its coding) and marks the half done. */
static void tell(ms_lua *rt, ms_lua_half *h, const uint8_t *p, size_t n)
{
    const char *type = NULL;
    if (n > 0 && (h->sniff_coding == MS_SNIFF_GZIP || h->sniff_coding == MS_SNIFF_DEFLATE)) {
        uint8_t plain[MS_SNIFF_MAX];
        type = ms_lua_mime_type(rt, plain, inflate_start(p, n, plain, sizeof plain, false));
    } else if (n > 0) {
        type = ms_lua_mime_type(rt, p, n);
    }
    h->sniff_type = type ? intern(rt, type) : NULL;
    h->sniff_done = true;
}

/* A 4096-byte buffer for a body that comes in pieces: from the runtime's few spare ones, else
 * malloc'd, within the cap on what all halves hold. */
static uint8_t *buffer_get(ms_lua *rt)
{
    struct ms_lua_sniffer *s = sniffer_of(rt);
    if (!s || rt->sniff_bytes + MS_SNIFF_MAX > SNIFF_BYTES_CAP)
        return NULL;
    uint8_t *b = s->nspare ? s->spare[--s->nspare] : malloc(MS_SNIFF_MAX);
    if (b)
        rt->sniff_bytes += MS_SNIFF_MAX;
    return b;
}

static void buffer_put(ms_lua *rt, ms_lua_half *h)
{
    if (!h->sniff_buf)
        return;
    struct ms_lua_sniffer *s = rt->sniffer; /* set: the buffer came from buffer_get */
    if (s && s->nspare < SPARE_BUFFERS)
        s->spare[s->nspare++] = h->sniff_buf;
    else
        free(h->sniff_buf);
    h->sniff_buf = NULL;
    rt->sniff_bytes -= MS_SNIFF_MAX;
}

void ms_lua_sniff_feed(ms_lua *rt, ms_lua_half *h, const uint8_t *p, size_t n, bool last)
{
    if (h->sniff_coding == MS_SNIFF_NONE || h->sniff_done || h->sniff_stopped || n == 0)
        return;
    if (h->sniff_len == 0 && (n >= MS_SNIFF_MAX || last)) {
        tell(rt, h, p, MS_MIN(n, (size_t)MS_SNIFF_MAX)); /* all at hand: no copy */
        return;
    }
    if (!h->sniff_buf && !(h->sniff_buf = buffer_get(rt))) {
        h->sniff_stopped = true; /* too many bodies at once: this one goes untyped (counted) */
        rt->stats.mime_uncollected++;
        return;
    }
    size_t take = MS_MIN(n, (size_t)MS_SNIFF_MAX - h->sniff_len);
    memcpy(h->sniff_buf + h->sniff_len, p, take);
    h->sniff_len = (uint16_t)(h->sniff_len + take);
    if (h->sniff_len == MS_SNIFF_MAX || last) {
        tell(rt, h, h->sniff_buf, h->sniff_len);
        buffer_put(rt, h);
    }
}

void ms_lua_sniff_gap(ms_lua_half *h)
{
    h->sniff_stopped = true;
}

void ms_lua_sniff_drop(ms_lua *rt, ms_lua_half *h)
{
    buffer_put(rt, h);
    h->sniff_len = 0;
    h->sniff_coding = MS_SNIFF_NONE;
    h->sniff_done = false;
    h->sniff_type = NULL;
}

int ms_lua_sniff_push(lua_State *L, ms_lua *rt, ms_lua_half *h)
{
    if (h->sniff_coding == MS_SNIFF_NONE)
        return 0;
    rt->stats.mime_sniffed++;
    if (!h->sniff_done) /* the body ended (or broke off) before MS_SNIFF_MAX bytes */
        tell(rt, h, h->sniff_buf, h->sniff_len);
    const char *type = h->sniff_type;
    ms_lua_sniff_drop(rt, h);
    if (type) {
        rt->stats.mime_typed++;
        lua_pushstring(L, type);
    } else {
        lua_pushnil(L);
    }
    return 1;
}

/* ---- file ids ------------------------------------------------------------------------------- */

/* moonshark.file_id(uid, n): "F" and base62, from the connection's uid and the file's number. */
static int l_file_id(lua_State *L)
{
    size_t len;
    const char *uid = luaL_checklstring(L, 1, &len);
    lua_Integer k = luaL_checkinteger(L, 2);
    uint64_t h = 14695981039346656037ULL;
    for (size_t i = 0; i < len; i++)
        h = (h ^ (uint8_t)uid[i]) * 1099511628211ULL;
    char id[24];
    ms_uid_format(h, (uint64_t)k, id, sizeof id);
    id[0] = 'F';
    lua_pushstring(L, id);
    return 1;
}

void ms_lua_sniff_open(lua_State *L, ms_lua *rt)
{
    (void)rt;
    lua_getglobal(L, "moonshark");
    lua_pushcfunction(L, l_file_id);
    lua_setfield(L, -2, "file_id");
    lua_pop(L, 1);
}

void ms_lua_sniff_close(ms_lua *rt)
{
    if (!rt->sniffer)
        return;
    if (rt->sniffer->magic)
        magic_close(rt->sniffer->magic);
    while (rt->sniffer->nspare)
        free(rt->sniffer->spare[--rt->sniffer->nspare]);
    free(rt->sniffer);
    rt->sniffer = NULL;
}
