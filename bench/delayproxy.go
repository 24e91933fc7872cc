package bench

import (
	"errors"
	"io"
	"net"
	"sync"
	"time"
)

// DelayProxy is a TCP proxy that delays every byte by a fixed one-way delay in each direction,
// as a network of that latency does (round trip: twice the delay), without limiting how much
// is in flight: each chunk read is written out once its delay has passed, in order.
type DelayProxy struct {
	ln       net.Listener
	upstream string
	delay    time.Duration

	mu     sync.Mutex
	conns  map[net.Conn]struct{}
	closed bool
	wg     sync.WaitGroup
}

// StartDelayProxy listens on listen and forwards every connection to upstream with oneWay of
// delay each way.
func StartDelayProxy(listen, upstream string, oneWay time.Duration) (*DelayProxy, error) {
	ln, err := net.Listen("tcp", listen)
	if err != nil {
		return nil, err
	}
	p := &DelayProxy{ln: ln, upstream: upstream, delay: oneWay, conns: map[net.Conn]struct{}{}}
	p.wg.Add(1)
	go p.accept()
	return p, nil
}

// Addr is the address the proxy listens on.
func (p *DelayProxy) Addr() string { return p.ln.Addr().String() }

func (p *DelayProxy) accept() {
	defer p.wg.Done()
	for {
		c, err := p.ln.Accept()
		if err != nil {
			return
		}
		p.wg.Add(1)
		go func() {
			defer p.wg.Done()
			p.serve(c)
		}()
	}
}

func (p *DelayProxy) track(c net.Conn) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		return false
	}
	p.conns[c] = struct{}{}
	return true
}

func (p *DelayProxy) untrack(c net.Conn) {
	p.mu.Lock()
	delete(p.conns, c)
	p.mu.Unlock()
	c.Close()
}

func (p *DelayProxy) serve(down net.Conn) {
	if !p.track(down) {
		down.Close()
		return
	}
	defer p.untrack(down)
	// The connection itself takes the delay too: SYN and SYN-ACK are one round trip.
	time.Sleep(2 * p.delay)
	up, err := net.Dial("tcp", p.upstream)
	if err != nil {
		return
	}
	if !p.track(up) {
		up.Close()
		return
	}
	defer p.untrack(up)
	var wg sync.WaitGroup
	wg.Add(2)
	go func() { defer wg.Done(); p.pump(up, down) }()
	go func() { defer wg.Done(); p.pump(down, up) }()
	wg.Wait()
}

type chunk struct {
	due  time.Time
	data []byte
}

// pump copies src to dst, each chunk delayed; at src's end it closes dst's writing side (after
// the delay) so that the other pump, and the peer, see the end too.
func (p *DelayProxy) pump(dst, src net.Conn) {
	q := make(chan chunk, 4096)
	done := make(chan struct{})
	go func() {
		defer close(done)
		for c := range q {
			time.Sleep(time.Until(c.due))
			if c.data == nil {
				closeWrite(dst)
				continue
			}
			if _, err := dst.Write(c.data); err != nil {
				src.Close()
				for range q {
				}
				return
			}
		}
	}()
	for {
		buf := make([]byte, 32<<10)
		n, err := src.Read(buf)
		if n > 0 {
			q <- chunk{due: time.Now().Add(p.delay), data: buf[:n]}
		}
		if err != nil {
			if errors.Is(err, io.EOF) {
				q <- chunk{due: time.Now().Add(p.delay)}
			}
			break
		}
	}
	close(q)
	<-done
}

func closeWrite(c net.Conn) {
	if tc, ok := c.(*net.TCPConn); ok {
		_ = tc.CloseWrite()
		return
	}
	c.Close()
}

// Close stops listening and ends every connection.
func (p *DelayProxy) Close() error {
	err := p.ln.Close()
	p.mu.Lock()
	p.closed = true
	for c := range p.conns {
		c.Close()
	}
	p.mu.Unlock()
	p.wg.Wait()
	return err
}
