/* embed_count_tcp.c — the engine embedded in a C program: counts the frames and TCP packets of a
 * capture. Build it against an installed moonshark:
 *     cc embed_count_tcp.c $(pkg-config --cflags --libs moonshark) -o embed_count_tcp */
#include <stdio.h>
#include <moonshark/capture/source.h>
#include <moonshark/decode/decode.h>

int main(int argc, char **argv)
{
    ms_err err = { "usage: embed_count_tcp CAPTURE" };
    ms_source *src = argc == 2 ? ms_source_open_file(argv[1], NULL, &err, NULL) : NULL;
    ms_decode_ctx *ctx = ms_decode_ctx_new(NULL); /* defaults: every layer, fragments reassembled */
    ms_frame frame;
    ms_packet pkt;
    unsigned long long frames = 0, tcp = 0;
    int rc = src && ctx ? 1 : -1;
    while (rc == 1 && (rc = ms_source_next(src, &frame, &err)) == 1) {
        ms_packet_start(&pkt, ctx, &frame);
        frames++;
        tcp += ms_packet_layer(&pkt, MS_LAYER_TCP) != NULL;
    }
    printf("frames %llu tcp %llu\n", frames, tcp);
    if (rc < 0)
        fprintf(stderr, "%s\n", err.msg);
    ms_decode_ctx_free(ctx);
    ms_source_close(src);
    return rc < 0;
}
