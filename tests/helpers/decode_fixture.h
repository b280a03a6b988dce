/* decode_fixture.h — the cmocka group fixture the decoder suites share: one packet builder, one
 * packet, one eager decode context with default options, made in setup and freed in teardown.
 * Header-only on purpose: each suite is its own program and gets its own copy of the statics. */
#ifndef MS_TEST_DECODE_FIXTURE_H
#define MS_TEST_DECODE_FIXTURE_H

#include "decode/decode.h"
#include "pktbuild.h"

static pb b;
static ms_packet pkt;
static ms_decode_ctx *ctx;

static int setup(void **state)
{
    (void)state;
    ms_decode_opts o;
    ms_decode_opts_default(&o);
    ctx = ms_decode_ctx_new(&o);
    pb_init(&b);
    return ctx ? 0 : -1;
}

static int teardown(void **state)
{
    (void)state;
    ms_decode_ctx_free(ctx);
    return 0;
}

#endif
