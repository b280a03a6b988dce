/* htp_streams.c — the libhtp oracle: reads the reassembled directions of connections written by
 * `moonshark streams -o DIR` and parses each connection with Suricata's HTTP parser libhtp, so
 * that HTTP parsing can be compared with moonshark's while reassembly is held equal.
 *
 * Input (stdin), one connection per line, tab-separated: uid, client file, server file, client
 * gap offset, server gap offset (paths relative to DIR, "-" for a direction without bytes; a gap
 * offset is where the first lost bytes begin, "-" for none: bytes from there on are not fed).
 * Output (stdout), one line per libhtp transaction, tab-separated:
 *   uid depth method uri request_protocol host user_agent request_entity_len response_protocol
 *   status_code status_msg response_entity_len flags
 * with bytes outside printable ASCII (and '\\') written as \xNN, "-" for an absent value.
 * The two directions are fed alternately: each runs until libhtp has consumed it or asks for the
 * other side (HTP_STREAM_DATA_OTHER, e.g. after a CONNECT), so pipelined requests are all seen
 * before their answers, as a client that pipelines sends them.
 * Usage: htp_streams DIR < manifest */
#include <htp/htp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct side {
    unsigned char *data;
    size_t len, off;
    int done;
} side;

static int read_file(const char *dir, const char *name, long gap, side *s)
{
    memset(s, 0, sizeof *s);
    if (strcmp(name, "-") == 0) {
        s->done = 1;
        return 0;
    }
    char path[4096];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *f = fopen(path, "rb");
    if (!f) {
        fprintf(stderr, "htp_streams: cannot open %s\n", path);
        return -1;
    }
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    if (n < 0)
        n = 0;
    if (gap >= 0 && gap < n)
        n = gap; /* what lies past a hole is not fed (the file holds zeros there) */
    s->data = malloc((size_t)n + 1);
    if (!s->data || fread(s->data, 1, (size_t)n, f) != (size_t)n) {
        fclose(f);
        free(s->data);
        s->data = NULL;
        return -1;
    }
    fclose(f);
    s->len = (size_t)n;
    return 0;
}

static void put_bytes(const unsigned char *p, size_t n)
{
    if (!p) {
        fputs("-", stdout);
        return;
    }
    for (size_t i = 0; i < n; i++) {
        unsigned char c = p[i];
        if (c < 0x20 || c >= 0x7f || c == '\\')
            printf("\\x%02x", c);
        else
            putchar(c);
    }
}

static void put_bstr(const bstr *b)
{
    if (!b)
        fputs("-", stdout);
    else
        put_bytes(bstr_ptr(b), bstr_len(b));
}

static void put_header(htp_table_t *t, const char *name)
{
    htp_header_t *h = t ? htp_table_get_c(t, name) : NULL;
    put_bstr(h ? h->value : NULL);
}

static void print_tx(const char *uid, size_t i, htp_tx_t *tx)
{
    printf("%s\t%zu\t", uid, i + 1);
    put_bstr(tx->request_method);
    putchar('\t');
    put_bstr(tx->request_uri);
    putchar('\t');
    put_bstr(tx->request_protocol);
    putchar('\t');
    put_header(tx->request_headers, "host");
    putchar('\t');
    put_header(tx->request_headers, "user-agent");
    printf("\t%lld\t", (long long)tx->request_entity_len);
    put_bstr(tx->response_protocol);
    printf("\t%d\t", tx->response_status_number);
    put_bstr(tx->response_message);
    printf("\t%lld\t%llx\n", (long long)tx->response_entity_len, (unsigned long long)tx->flags);
}

/* Feeds one side from its offset; returns 1 when it made progress. */
static int feed(htp_connp_t *connp, side *s, int request, htp_time_t *ts)
{
    if (s->done)
        return 0;
    size_t left = s->len - s->off;
    int rc = request ? htp_connp_req_data(connp, ts, s->data + s->off, left)
                     : htp_connp_res_data(connp, ts, s->data + s->off, left);
    size_t used = left;
    if (rc == HTP_STREAM_DATA_OTHER)
        used = request ? htp_connp_req_data_consumed(connp) : htp_connp_res_data_consumed(connp);
    s->off += used;
    if (rc != HTP_STREAM_DATA_OTHER || s->off >= s->len)
        s->done = 1;
    if (rc == HTP_STREAM_ERROR || rc == HTP_STREAM_TUNNEL || rc == HTP_STREAM_STOP)
        s->done = 1;
    return used > 0 || s->done;
}

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: htp_streams DIR < manifest\n");
        return 2;
    }
    htp_cfg_t *cfg = htp_config_create();
    htp_config_set_server_personality(cfg, HTP_SERVER_APACHE_2);
    htp_config_set_response_decompression(cfg, 1);   /* body lengths after gzip/deflate, as Zeek */
    htp_config_set_request_decompression(cfg, 1);
    htp_config_set_lzma_memlimit(cfg, 0);            /* no lzma: neither Zeek nor moonshark decode it */
    htp_config_set_response_decompression_layer_limit(cfg, 1);
    htp_config_set_tx_auto_destroy(cfg, 0);
    char line[8192];
    while (fgets(line, sizeof line, stdin)) {
        line[strcspn(line, "\n")] = 0;
        char *f[5];
        int n = 0;
        for (char *tok = strtok(line, "\t"); tok && n < 5; tok = strtok(NULL, "\t"))
            f[n++] = tok;
        if (n != 5)
            continue;
        side req, res;
        long gc = strcmp(f[3], "-") ? atol(f[3]) : -1, gs = strcmp(f[4], "-") ? atol(f[4]) : -1;
        if (read_file(argv[1], f[1], gc, &req) || read_file(argv[1], f[2], gs, &res)) {
            free(req.data);
            continue;
        }
        htp_connp_t *connp = htp_connp_create(cfg);
        htp_time_t ts = { 0, 0 };
        htp_connp_open(connp, "0.0.0.1", 1, "0.0.0.2", 80, &ts);
        for (int rounds = 0; rounds < 100000 && (!req.done || !res.done); rounds++) {
            int a = feed(connp, &req, 1, &ts);
            int b = feed(connp, &res, 0, &ts);
            if (!a && !b)
                break;
        }
        htp_connp_close(connp, &ts);
        htp_conn_t *conn = htp_connp_get_connection(connp);
        size_t ntx = htp_list_size(conn->transactions);
        for (size_t i = 0; i < ntx; i++) {
            htp_tx_t *tx = htp_list_get(conn->transactions, i);
            if (tx)
                print_tx(f[0], i, tx);
        }
        htp_connp_destroy_all(connp);
        free(req.data);
        free(res.data);
    }
    htp_config_destroy(cfg);
    return 0;
}
