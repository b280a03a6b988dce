#!/bin/sh
# mixed_pcap.sh OUT — writes a capture of TCP and UDP: samples/http-loopback.pcap (185 TCP frames),
# then three Ethernet/IPv4/UDP frames written by hand (frames 186-188, timestamps after the sample's).
set -eu
top=$(cd "$(dirname "$0")/../.." && pwd)
out=${1:?usage: mixed_pcap.sh OUT}
cp "$top/samples/http-loopback.pcap" "$out"
frame='\000\001\002\003\004\005\000\001\002\003\004\006\010\000\105\000\000\034\000\000\000\000\100\021\000\000\012\000\000\001\012\000\000\002\000\065\000\065\000\010\000\000'
for i in 1 2 3; do
    printf "\\377\\377\\377\\177\\00$i\\000\\000\\000\\052\\000\\000\\000\\052\\000\\000\\000" >> "$out"
    printf "$frame" >> "$out"
done
