package server

import (
	"github.com/coder/websocket"
	"golang.org/x/time/rate"

	"github.com/podiumhq/podium/signaling/protocol"
)

// Default limits (Config fields left zero).
const (
	// DefaultMsgRate and DefaultMsgBurst: each connection's token bucket for
	// incoming messages. A client sends a few messages a second (pings every
	// 5 s, trickled candidates, clicks); the burst covers a join's ICE
	// candidates and a user typing fast.
	DefaultMsgRate  = 50
	DefaultMsgBurst = 200
	// DefaultRateStrikes: refused messages a connection may send in a burst
	// (refilled at one a second) before it is disconnected.
	DefaultRateStrikes = 20
	DefaultMaxRooms    = 1000
	DefaultMaxTracks   = 8
)

// limiter is one connection's incoming-message limit: msgs is the token
// bucket; strikes counts refused messages (each refused message takes a
// token; none left: disconnect).
type limiter struct {
	msgs, strikes *rate.Limiter
}

func newLimiter(cfg Config) *limiter {
	if cfg.MsgRate < 0 {
		return nil
	}
	return &limiter{
		msgs:    rate.NewLimiter(rate.Limit(cfg.MsgRate), cfg.MsgBurst),
		strikes: rate.NewLimiter(1, cfg.RateStrikes),
	}
}

// verdict for one incoming message.
type verdict int

const (
	accept verdict = iota
	refuse
	disconnect
)

func (l *limiter) check() verdict {
	if l == nil || l.msgs.Allow() {
		return accept
	}
	if l.strikes.Allow() {
		return refuse
	}
	return disconnect
}

// rateLimited handles a message over c's limit: an error, and for a client
// that keeps going, the error and a close once it is written. It reports
// whether the connection is being closed (the read loop then stops).
func (c *conn) rateLimited(v verdict, id string) bool {
	cfg := c.srv.cfg
	if v == refuse {
		c.sendError(id, protocol.Errorf(protocol.ErrRateLimited, "more than %g messages a second (burst %d): message dropped; keep going and you are disconnected", cfg.MsgRate, cfg.MsgBurst))
		return false
	}
	c.srv.mRateDisconnects.Inc()
	c.log.Warn("message rate limit exceeded: disconnecting")
	c.sendError(id, protocol.Errorf(protocol.ErrRateLimited, "message rate limit exceeded: disconnected"))
	c.closeAfterFlush(websocket.StatusPolicyViolation, "message rate limit exceeded")
	return true
}

// tracksAllowed reports whether video+audio more tracks keep c within the
// per-participant track limit (have: already granted).
func (s *Server) tracksAllowed(have, more int) error {
	if have+more > s.cfg.MaxTracks {
		return protocol.Errorf(protocol.ErrTooManyTracks, "at most %d tracks per participant (asked for %d more, %d already)", s.cfg.MaxTracks, more, have)
	}
	return nil
}
