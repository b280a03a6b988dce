// gopacket_http — a benchmark peer for `make bench`: an HTTP request logger written the way
// gopacket's httpassembly example is written (libpcap through gopacket/pcap, lazy no-copy
// decoding from Ethernet, the tcpassembly stream pool and assembler, one goroutine per
// client→server stream reading requests with net/http through a tcpreader.ReaderStream).
// Not part of moonshark; bench/run.sh builds it against Debian's golang-github-google-gopacket-dev.
//
//	gopacket_http [-ports 80,8080] [-channel=true] [-stats] FILE.pcap
//
// Prints one line per request parsed: "src:port dst:port METHOD host uri". A TCP stream is a
// client stream when its destination port is one of -ports; only those are parsed, the other
// direction is reassembled and dropped. Old connections are flushed by capture time (data
// older than two minutes of capture time, checked once a capture minute), all are flushed at
// the end, and the program waits for every reader goroutine before it exits.
package main

import (
	"bufio"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/google/gopacket"
	"github.com/google/gopacket/layers"
	"github.com/google/gopacket/pcap"
	"github.com/google/gopacket/tcpassembly"
	"github.com/google/gopacket/tcpassembly/tcpreader"
)

// The log: request lines from every reader goroutine go through one buffered writer.
type requestLog struct {
	mu sync.Mutex
	w  *bufio.Writer
}

func (l *requestLog) line(src, dst, method, host, uri string) {
	l.mu.Lock()
	l.w.WriteString(src)
	l.w.WriteByte(' ')
	l.w.WriteString(dst)
	l.w.WriteByte(' ')
	l.w.WriteString(method)
	l.w.WriteByte(' ')
	l.w.WriteString(host)
	l.w.WriteByte(' ')
	l.w.WriteString(uri)
	l.w.WriteByte('\n')
	l.mu.Unlock()
}

var (
	requests    int64 // requests logged
	badRequests int64 // ReadRequest errors other than the end of a stream
	clientConns int64 // client streams parsed
)

// dropStream is the server→client direction: reassembled by tcpassembly, then ignored.
type dropStream struct{}

func (dropStream) Reassembled([]tcpassembly.Reassembly) {}
func (dropStream) ReassemblyComplete()                  {}

// requestStream reads HTTP requests from one client→server stream in its own goroutine.
type requestStream struct {
	r        tcpreader.ReaderStream
	src, dst string
}

func (s *requestStream) run(log *requestLog, wg *sync.WaitGroup) {
	defer wg.Done()
	in := bufio.NewReader(&s.r)
	for {
		req, err := http.ReadRequest(in)
		if err == io.EOF {
			return
		}
		if err == io.ErrUnexpectedEOF {
			// the stream ended inside a request head: nothing more to read
			atomic.AddInt64(&badRequests, 1)
			tcpreader.DiscardBytesToEOF(in)
			return
		}
		if err != nil {
			// not a request here (garbage, a lost segment): ReadRequest consumed what it
			// looked at, try again from there
			atomic.AddInt64(&badRequests, 1)
			continue
		}
		log.line(s.src, s.dst, req.Method, req.Host, req.RequestURI)
		atomic.AddInt64(&requests, 1)
		// the body: read (Content-Length or chunked framing) and thrown away
		io.Copy(io.Discard, req.Body)
		req.Body.Close()
	}
}

type streamFactory struct {
	log     *requestLog
	servers map[uint16]bool
	wg      sync.WaitGroup
}

func port(e gopacket.Endpoint) uint16 {
	b := e.Raw()
	if len(b) != 2 {
		return 0
	}
	return uint16(b[0])<<8 | uint16(b[1])
}

func (f *streamFactory) New(netFlow, tcpFlow gopacket.Flow) tcpassembly.Stream {
	if !f.servers[port(tcpFlow.Dst())] {
		return dropStream{}
	}
	s := &requestStream{
		r:   tcpreader.NewReaderStream(),
		src: net.JoinHostPort(netFlow.Src().String(), tcpFlow.Src().String()),
		dst: net.JoinHostPort(netFlow.Dst().String(), tcpFlow.Dst().String()),
	}
	atomic.AddInt64(&clientConns, 1)
	f.wg.Add(1)
	go s.run(f.log, &f.wg)
	return &s.r
}

func parsePorts(list string) (map[uint16]bool, error) {
	m := map[uint16]bool{}
	for _, p := range strings.Split(list, ",") {
		n, err := strconv.ParseUint(strings.TrimSpace(p), 10, 16)
		if err != nil || n == 0 {
			return nil, fmt.Errorf("bad port %q in -ports", p)
		}
		m[uint16(n)] = true
	}
	return m, nil
}

func main() {
	ports := flag.String("ports", "80,8080", "server ports: streams to these ports are parsed as HTTP requests")
	channel := flag.Bool("channel", true, "read packets through PacketSource.Packets() (a reader goroutine and a channel, as httpassembly does); false: NextPacket() in the main loop")
	stats := flag.Bool("stats", false, "print counters to stderr at the end")
	flag.Usage = func() {
		fmt.Fprintf(os.Stderr, "usage: gopacket_http [-ports 80,8080] [-channel=false] [-stats] FILE.pcap\n")
		flag.PrintDefaults()
	}
	flag.Parse()
	if flag.NArg() != 1 {
		flag.Usage()
		os.Exit(2)
	}
	servers, err := parsePorts(*ports)
	if err != nil {
		fmt.Fprintln(os.Stderr, "gopacket_http:", err)
		os.Exit(2)
	}
	handle, err := pcap.OpenOffline(flag.Arg(0))
	if err != nil {
		fmt.Fprintln(os.Stderr, "gopacket_http:", err)
		os.Exit(1)
	}
	defer handle.Close()

	out := &requestLog{w: bufio.NewWriterSize(os.Stdout, 1<<16)}
	factory := &streamFactory{log: out, servers: servers}
	pool := tcpassembly.NewStreamPool(factory)
	assembler := tcpassembly.NewAssembler(pool)

	source := gopacket.NewPacketSource(handle, layers.LayerTypeEthernet)
	source.DecodeOptions.Lazy = true
	source.DecodeOptions.NoCopy = true

	var packets, tcpPackets int64
	var nextFlush time.Time
	handlePacket := func(p gopacket.Packet) {
		packets++
		nl, tl := p.NetworkLayer(), p.TransportLayer()
		if nl == nil || tl == nil || tl.LayerType() != layers.LayerTypeTCP {
			return
		}
		tcp := tl.(*layers.TCP)
		ts := p.Metadata().Timestamp
		tcpPackets++
		assembler.AssembleWithTimestamp(nl.NetworkFlow(), tcp, ts)
		// httpassembly flushes every minute of wall time; reading a file, the clock that
		// matters is the capture's
		if nextFlush.IsZero() {
			nextFlush = ts.Add(time.Minute)
		} else if ts.After(nextFlush) {
			assembler.FlushOlderThan(ts.Add(-2 * time.Minute))
			nextFlush = ts.Add(time.Minute)
		}
	}
	if *channel {
		for p := range source.Packets() {
			handlePacket(p)
		}
	} else {
		for {
			p, err := source.NextPacket()
			if err == io.EOF {
				break
			}
			if err != nil {
				fmt.Fprintln(os.Stderr, "gopacket_http:", err)
				os.Exit(1)
			}
			handlePacket(p)
		}
	}
	assembler.FlushAll()
	factory.wg.Wait()
	if err := out.w.Flush(); err != nil {
		fmt.Fprintln(os.Stderr, "gopacket_http: writing the log:", err)
		os.Exit(1)
	}
	if *stats {
		fmt.Fprintf(os.Stderr, "gopacket_http: %d packets, %d tcp, %d client streams, %d requests, %d request errors\n",
			packets, tcpPackets, atomic.LoadInt64(&clientConns), atomic.LoadInt64(&requests),
			atomic.LoadInt64(&badRequests))
	}
}
