/* fuzz_decode.c — libFuzzer target for the decode pipeline: arbitrary bytes as one frame.
 * Byte 0 picks the link type (from the ones with a decoder), byte 1 picks which layer a lazy
 * decode asks for first, the rest is the frame. Every frame goes through an eager and a lazy
 * context (both kept across inputs, so defragmentation state builds up); the two must produce
 * the same stack, addresses and payload, and every layer must lie inside the frame or a
 * reassembly buffer. Seeds: frames of real captures (tests/fuzz/seed_fuzz_decode.sh). Held
 * fragments outlive an input by design, so per-input leak checks are off (fuzz_decode.options). */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "decode/decode.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const int linktypes[] = { 1, 0, 9, 12, 50, 101, 108, 113, 228, 229, 276 };

static ms_decode_ctx *eager_ctx, *lazy_ctx;
static ms_packet eager, lazy;
static uint64_t clock_ns;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    ms_decode_opts o;
    ms_decode_opts_default(&o);
    o.frag_max_datagrams = 64; /* small limits so eviction paths run */
    o.frag_max_bytes = 256 * 1024;
    o.frag_timeout_ns = 5ull * 1000000000ull;
    eager_ctx = ms_decode_ctx_new(&o);
    o.eager = false;
    lazy_ctx = ms_decode_ctx_new(&o);
    if (!eager_ctx || !lazy_ctx)
        abort();
    return 0;
}

static void check_bounds(const ms_packet *p, const uint8_t *frame, size_t len)
{
    for (unsigned i = 0; i < p->nlayers; i++) {
        const ms_layer *l = &p->layers[i];
        if (l->hdr_len > l->len)
            abort();
        if (l->len == 0 || (l->flags & MS_LF_REASSEMBLED))
            continue;
        bool in_frame = l->data >= frame && l->data + l->len <= frame + len;
        bool reasm = false;
        for (unsigned j = 0; j < i; j++)
            if (p->layers[j].flags & MS_LF_REASSEMBLED)
                reasm = true;
        if (!in_frame && !reasm)
            abort();
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 2)
        return 0;
    ms_frame f;
    memset(&f, 0, sizeof(f));
    f.linktype = linktypes[data[0] % (sizeof(linktypes) / sizeof(linktypes[0]))];
    ms_layer_type probe = (ms_layer_type)(data[1] % MS_LAYER_COUNT);
    /* copy so the sanitizer sees the exact frame end */
    size_t len = size - 2;
    uint8_t *frame = malloc(len ? len : 1);
    if (!frame)
        return 0;
    memcpy(frame, data + 2, len);
    f.data = frame;
    f.caplen = f.wirelen = (uint32_t)len;
    f.ts_ns = clock_ns;
    clock_ns += 100000000ull; /* 0.1 s per input: timeouts happen */
    f.number = 1;

    ms_packet_start(&eager, eager_ctx, &f);
    ms_packet_start(&lazy, lazy_ctx, &f);
    ms_packet_layer(&lazy, probe);
    ms_packet_decode_all(&lazy);

    char se[4096], sl[4096];
    ms_packet_stack(&eager, se, sizeof(se));
    ms_packet_stack(&lazy, sl, sizeof(sl));
    if (strcmp(se, sl) != 0 || eager.payload_len != lazy.payload_len || eager.nlayers != lazy.nlayers ||
        eager.net.family != lazy.net.family || eager.net.sport != lazy.net.sport)
        abort();
    if (eager.payload && memcmp(eager.payload, lazy.payload, eager.payload_len) != 0)
        abort();
    check_bounds(&eager, frame, len);
    check_bounds(&lazy, frame, len);
    free(frame);
    return 0;
}
