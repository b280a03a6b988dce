#!/bin/sh
# Seeds the fuzz_http corpus ($1): small HTTP exchanges in fuzz_http.c's piece format
# (control byte: bit 0 direction, bit 1 gap, bit 2 end; length byte; data).
corpus=$1
mkdir -p "$corpus"
# piece DIR TEXT: prints one data piece (TEXT under 256 bytes, printf escapes allowed)
piece() {
    body=$(printf "$2" | od -An -v -tx1 | tr -d ' \n')
    len=$(( ${#body} / 2 ))
    printf "\\$(printf '%03o' "$1")\\$(printf '%03o' "$len")"
    printf "$2"
}
{ piece 0 'GET /a HTTP/1.1\r\nHost: h\r\n\r\n'; piece 1 'HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok'; } > "$corpus/get"
{ piece 0 'POST /p HTTP/1.1\r\nHost: h\r\nExpect: 100-continue\r\nContent-Length: 3\r\n\r\n'
  piece 1 'HTTP/1.1 100 Continue\r\n\r\n'; piece 0 'abc'
  piece 1 'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5;x=1\r\nhello\r\n0\r\nT: 1\r\n\r\n'; } > "$corpus/chunked"
{ piece 0 'GET /1 HTTP/1.1\r\nHost: a\r\n\r\nHEAD /2 HTTP/1.1\r\nHost: a\r\n\r\n'
  piece 1 'HTTP/1.1 204 No\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 99\r\n\r\n'; } > "$corpus/pipelined"
{ piece 0 'CONNECT x:443 HTTP/1.1\r\nHost: x:443\r\n\r\n'; piece 1 'HTTP/1.1 200 OK\r\n\r\n'
  piece 0 'GET / HTTP/1.1\r\n\r\n'; piece 1 '\026\003\001\000\002hi'; } > "$corpus/connect"
{ piece 0 'GET /g HTTP/1.1\r\nHost: a\r\nX: '; printf '\002\020'; piece 0 'y\r\n\r\nGET /h HTTP/1.0\n\n'
  piece 1 'HTTP/1.0 200 OK\n\nbody'; printf '\005\000'; } > "$corpus/gap"
{ piece 0 '\005\001\000'; piece 1 '\005\000'; piece 0 '\005\001\000\001\012\000\000\001\000\120'
  piece 1 '\005\000\000\001\012\000\000\001\000\120'; piece 0 'GET /s HTTP/1.1\r\n\r\n'; } > "$corpus/socks"
{ printf '\201\017'; printf 'HTTP/1.1 200 OK'; piece 1 'GET /x HTTP/1.1\r\n\r\n'; } > "$corpus/guessed"
echo "fuzz_http: $(ls "$corpus" | wc -l) seeds"
