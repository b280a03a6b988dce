#!/bin/sh
# Re-creates the bundled sample captures (run from the repository root after `make tools`):
#   samples/http-sample.pcap (+ .manifest.tsv)  generated: build/tools/gen_capture, fixed seed,
#       so the same bytes every time; a few hundred HTTP/1.1 requests over interleaved
#       connections with 2% out-of-order and 1% duplicated segments, IPv6 and VLAN.
#   samples/http-loopback.pcap                   recorded: real python http.server + curl traffic
#       over "lo" (tools/record_loopback.sh; needs root and tcpdump), differs per run.
#   samples/redis-loopback.pcap (+ .monitor.txt)  recorded: a private redis-server and scripted
#       clients (every reply type, pipelining, inline, RESP3, pub/sub) over "lo", with the server's
#       own MONITOR log as the truth (tools/record_redis.sh; needs root, tcpdump, redis-server).
# Usage: sh samples/make_samples.sh [generated|loopback|redis|all]   (default all)
set -eu
what=${1:-all}
build=${BUILD:-build}
if [ "$what" = generated ] || [ "$what" = all ]; then
    "$build/tools/gen_capture" -o samples/http-sample.pcap --manifest samples/http-sample.manifest.tsv \
        --size 850K --max-body 4K --conns 16 --seed 1 --ooo 2 --retrans 1
fi
if [ "$what" = loopback ] || [ "$what" = all ]; then
    sh tools/record_loopback.sh samples/http-loopback.pcap
fi
if [ "$what" = redis ] || [ "$what" = all ]; then
    sh tools/record_redis.sh samples/redis-loopback.pcap
fi
