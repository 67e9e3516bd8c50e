package server

import (
	"github.com/podiumhq/podium/signaling/protocol"
)

// SubscriptionController is implemented by media sessions that can choose
// per subscriber which layer of a remote track is forwarded (the SFU).
type SubscriptionController interface {
	SetSubscription(track, layer string) error
}

// handleQuality relays media-state to the rest of the room and applies
// subscribe hints to the subscriber's media session.
func (s *Server) handleQuality(c *conn, media MediaSession, env protocol.Envelope) error {
	switch env.Type {
	case protocol.TypeMediaState:
		var b protocol.MediaStateBody
		if err := protocol.DecodeBody(env, &b); err != nil {
			return err
		}
		if len(b.Track) > 64 || len(b.Reason) > 32 {
			return protocol.Errorf(protocol.ErrBadMessage, "media-state too long")
		}
		b.From = c.self.ID
		s.mu.Lock()
		rm := c.room
		s.mu.Unlock()
		if rm == nil {
			return protocol.Errorf(protocol.ErrNotJoined, "not in a room")
		}
		rm.mu.Lock()
		for id, m := range rm.members {
			if id != c.self.ID {
				m.sendMsg(protocol.TypeMediaState, "", 0, b)
			}
		}
		rm.mu.Unlock()
	case protocol.TypeSubscribe:
		var b protocol.SubscribeBody
		if err := protocol.DecodeBody(env, &b); err != nil {
			return err
		}
		switch b.Layer {
		case protocol.LayerHigh, protocol.LayerLow, protocol.LayerNone:
		default:
			return protocol.Errorf(protocol.ErrBadMessage, "unknown layer %q", b.Layer)
		}
		if sc, ok := media.(SubscriptionController); ok {
			if err := sc.SetSubscription(b.Track, b.Layer); err != nil {
				return protocol.Errorf(protocol.ErrBadMessage, "%v", err)
			}
		}
	}
	return nil
}

// SendQualityWarning tells this connection's participant that one of its
// tracks arrives degraded at the SFU (sfu.QualityWarner).
func (c *conn) SendQualityWarning(track, reason string, lossPct, fps float64) {
	c.sendMsg(protocol.TypeQualityWarning, "", 0, protocol.QualityWarningBody{Track: track, Reason: reason, LossPct: lossPct, FPS: fps})
}
