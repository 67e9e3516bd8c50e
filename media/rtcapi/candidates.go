package rtcapi

import (
	"sync"

	"github.com/pion/webrtc/v4"
)

// CandidateGate holds local ICE candidates (RFC 8838 trickle) while a
// session description is being made, and lets them go once it is sent:
// after an ICE restart they carry the new ufrag, which the far side cannot
// match before it has the description. The zero value is open.
type CandidateGate struct {
	mu   sync.Mutex
	hold bool
	held []webrtc.ICECandidateInit
}

// Send calls send(c) now, or keeps c while the gate is held.
func (g *CandidateGate) Send(c webrtc.ICECandidateInit, send func(webrtc.ICECandidateInit)) {
	g.mu.Lock()
	if g.hold {
		g.held = append(g.held, c)
		g.mu.Unlock()
		return
	}
	g.mu.Unlock()
	send(c)
}

// Hold keeps every candidate from now until Release.
func (g *CandidateGate) Hold() {
	g.mu.Lock()
	g.hold = true
	g.mu.Unlock()
}

// Release opens the gate and sends what it kept, in order.
func (g *CandidateGate) Release(send func(webrtc.ICECandidateInit)) {
	g.mu.Lock()
	held := g.held
	g.held, g.hold = nil, false
	g.mu.Unlock()
	for _, c := range held {
		send(c)
	}
}
