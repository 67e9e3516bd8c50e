package participant

import (
	"context"
	"time"

	"github.com/pion/webrtc/v4"

	"github.com/podiumhq/podium/signaling/protocol"
)

// iceServers is the ICE configuration: the servers configured by the
// caller, else those the server sent with the join answer (its own TURN
// relay with time-limited credentials). Never any public server.
func iceServers(configured []webrtc.ICEServer, fromServer []protocol.ICEServer) []webrtc.ICEServer {
	if len(configured) > 0 {
		return configured
	}
	var out []webrtc.ICEServer
	for _, s := range fromServer {
		out = append(out, webrtc.ICEServer{URLs: s.URLs, Username: s.Username, Credential: s.Credential, CredentialType: webrtc.ICECredentialTypePassword})
	}
	return out
}

// iceWatch follows the current PeerConnection's ICE state and restarts
// ICE when it fails while signaling stays up (signalLoop's ticker calls
// checkICE once a second).
type iceWatch struct {
	gen       int                       // PeerConnection generation of state
	state     webrtc.ICEConnectionState // its latest ICE state
	since     time.Time                 // when state was entered
	restartAt time.Time                 // last ICE restart asked (zero: none pending)
	restarts  int
	attempts  int // restarts in the current outage
}

// ICE timing. pion declares ICE disconnected after 5 s without an answer
// to its connectivity checks (webrtc.SettingEngine's default), failed
// after 25 s.
const (
	// iceRestartAfter in disconnected (or at once on failed) asks for an
	// ICE restart.
	iceRestartAfter = 2 * time.Second
	// iceRestartRetry after a restart that did not bring ICE back another
	// one is asked for; after iceRestartAttempts the whole session is
	// rebuilt (signaling reconnect, new PeerConnection).
	iceRestartRetry    = 4 * time.Second
	iceRestartAttempts = 3
	// iceSignalingCheck after a restart request with no message from the
	// server since, signaling is reconnected as well.
	iceSignalingCheck = 3 * time.Second
)

func (p *Participant) onICEState(gen int, st webrtc.ICEConnectionState) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if gen != p.pcGen {
		return
	}
	w := &p.ice
	if w.gen != gen {
		*w = iceWatch{gen: gen, restarts: w.restarts}
	}
	w.state, w.since = st, time.Now()
	p.log.Debug("ICE state", "state", st.String(), "pc", gen)
	if st == webrtc.ICEConnectionStateConnected || st == webrtc.ICEConnectionStateCompleted {
		if !w.restartAt.IsZero() {
			p.log.Info("ICE back", "after restart", time.Since(w.restartAt).Round(time.Millisecond))
		}
		w.restartAt, w.attempts = time.Time{}, 0
	}
}

// checkICE asks for an ICE restart, or rebuilds the session, when ICE has
// been down too long.
func (p *Participant) checkICE() {
	p.mu.Lock()
	w := &p.ice
	now := time.Now()
	down := (w.state == webrtc.ICEConnectionStateDisconnected && now.Sub(w.since) >= iceRestartAfter) ||
		w.state == webrtc.ICEConnectionStateFailed
	up := w.state == webrtc.ICEConnectionStateConnected || w.state == webrtc.ICEConnectionStateCompleted
	restart, rebuild := false, false
	switch {
	case w.gen != p.pcGen || up:
	case !w.restartAt.IsZero() && now.Sub(w.restartAt) >= iceSignalingCheck && p.lastRecv.Before(w.restartAt):
		// The server answers a restart with an offer at once: silence
		// means signaling is dead too (the whole network changed).
		rebuild = true
	case !w.restartAt.IsZero() && now.Sub(w.restartAt) >= iceRestartRetry:
		// A restart whose checks ran while the path was still down
		// leaves its pairs failed: restart again, a few times, then
		// rebuild the whole session.
		if w.attempts >= iceRestartAttempts {
			rebuild = true
		} else {
			restart = true
		}
	case down && w.restartAt.IsZero():
		restart = true
	}
	if restart {
		w.restartAt = now
		w.restarts++
		w.attempts++
	}
	if rebuild {
		w.restartAt, w.attempts = time.Time{}, 0
	}
	state := w.state
	p.mu.Unlock()
	if restart {
		ctx, cancel := context.WithTimeout(p.ctx, 2*time.Second)
		_, err := p.sig.Send(ctx, protocol.TypeICERestart, nil)
		cancel()
		p.log.Info("ICE down; asked for an ICE restart", "state", state.String(), "err", err)
		p.emit(Event{Type: EventICERestart})
	}
	if rebuild {
		p.log.Warn("ICE restart did not recover; rebuilding the session")
		p.sig.Reconnect()
	}
}

// ICERestarts counts the ICE restarts asked for since Join.
func (p *Participant) ICERestarts() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.ice.restarts
}
