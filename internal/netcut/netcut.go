// Package netcut is a TCP proxy for tests that cuts connections on demand:
// all at once, or when a client message containing a marker passes
// (after forwarding it, so the server acts on it but its answer is lost;
// or before, so it is lost on the way). Loopback only.
package netcut

import (
	"bytes"
	"io"
	"net"
	"sync"
)

// Proxy forwards connections from Addr to a target.
type Proxy struct {
	ln     net.Listener
	target string
	mu     sync.Mutex
	conns  map[net.Conn]net.Conn // client side -> server side
	after  []byte
	before []byte
	cuts   int
}

// New listens on 127.0.0.1 and forwards to target.
func New(target string) (*Proxy, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	p := &Proxy{ln: ln, target: target, conns: map[net.Conn]net.Conn{}}
	go p.accept()
	return p, nil
}

// Addr is the proxy's address.
func (p *Proxy) Addr() string { return p.ln.Addr().String() }

// Close stops the proxy and cuts every connection.
func (p *Proxy) Close() error {
	err := p.ln.Close()
	p.Cut()
	return err
}

// Cut closes every open connection now.
func (p *Proxy) Cut() {
	p.mu.Lock()
	defer p.mu.Unlock()
	for c, s := range p.conns {
		c.Close()
		s.Close()
		delete(p.conns, c)
	}
	p.cuts++
}

// CutAfter arms a one-shot cut: the next client chunk containing marker is
// forwarded, then the connection is closed.
func (p *Proxy) CutAfter(marker string) {
	p.mu.Lock()
	p.after = []byte(marker)
	p.mu.Unlock()
}

// CutBefore arms a one-shot cut: the next client chunk containing marker
// is dropped and the connection closed.
func (p *Proxy) CutBefore(marker string) {
	p.mu.Lock()
	p.before = []byte(marker)
	p.mu.Unlock()
}

// Cuts counts cuts made.
func (p *Proxy) Cuts() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.cuts
}

func (p *Proxy) accept() {
	for {
		c, err := p.ln.Accept()
		if err != nil {
			return
		}
		s, err := net.Dial("tcp", p.target)
		if err != nil {
			c.Close()
			continue
		}
		p.mu.Lock()
		p.conns[c] = s
		p.mu.Unlock()
		go func() {
			// A plain buffer copy: io.Copy between TCP conns splices
			// through pooled pipes, which would show as open fds.
			buf := make([]byte, 32<<10)
			_, _ = io.CopyBuffer(struct{ io.Writer }{c}, struct{ io.Reader }{s}, buf)
			c.Close()
		}()
		go p.up(c, s)
	}
}

// up copies client to server, watching for the armed markers. WebSocket
// client frames are masked, so markers are matched on unmasked payloads:
// the chunk is unmasked frame by frame when it is one whole frame.
func (p *Proxy) up(c, s net.Conn) {
	defer func() {
		c.Close()
		s.Close()
		p.mu.Lock()
		delete(p.conns, c)
		p.mu.Unlock()
	}()
	buf := make([]byte, 64<<10)
	for {
		n, err := c.Read(buf)
		if n > 0 {
			chunk := buf[:n]
			plain := unmask(chunk)
			p.mu.Lock()
			cutBefore := p.before != nil && bytes.Contains(plain, p.before)
			cutAfter := !cutBefore && p.after != nil && bytes.Contains(plain, p.after)
			if cutBefore {
				p.before = nil
			}
			if cutAfter {
				p.after = nil
			}
			p.mu.Unlock()
			if cutBefore {
				p.cutOne(c)
				return
			}
			if _, werr := s.Write(chunk); werr != nil {
				return
			}
			if cutAfter {
				p.cutOne(c)
				return
			}
		}
		if err != nil {
			return
		}
	}
}

func (p *Proxy) cutOne(c net.Conn) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if s := p.conns[c]; s != nil {
		s.Close()
		delete(p.conns, c)
	}
	c.Close()
	p.cuts++
}

// unmask returns the payloads of the WebSocket frames at the start of b
// (client frames are masked); on anything unexpected, b itself.
func unmask(b []byte) []byte {
	var out []byte
	for len(b) >= 2 {
		masked := b[1]&0x80 != 0
		n := int(b[1] & 0x7f)
		h := 2
		switch n {
		case 126:
			if len(b) < 4 {
				return append(out, b...)
			}
			n, h = int(b[2])<<8|int(b[3]), 4
		case 127:
			if len(b) < 10 {
				return append(out, b...)
			}
			n = 0
			for i := 2; i < 10; i++ {
				n = n<<8 | int(b[i])
			}
			h = 10
		}
		var key []byte
		if masked {
			if len(b) < h+4 {
				return append(out, b...)
			}
			key, h = b[h:h+4], h+4
		}
		if n < 0 || len(b) < h+n {
			return append(out, b...)
		}
		pl := make([]byte, n)
		copy(pl, b[h:h+n])
		for i := range pl {
			if key != nil {
				pl[i] ^= key[i%4]
			}
		}
		out = append(out, pl...)
		b = b[h+n:]
	}
	return append(out, b...)
}
