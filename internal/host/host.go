// Package host assembles a podiumd instance: the signaling server, the SFU
// behind it, /healthz and /metrics. cmd/podiumd serves it; the desktop app
// starts one in-process to "host on this computer".
package host

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"time"

	"github.com/pion/webrtc/v4"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/podiumhq/podium/internal/web"
	"github.com/podiumhq/podium/media/rtcapi"
	"github.com/podiumhq/podium/media/sfu"
	"github.com/podiumhq/podium/media/turnserver"
	"github.com/podiumhq/podium/signaling/protocol"
	"github.com/podiumhq/podium/signaling/room"
	"github.com/podiumhq/podium/signaling/server"
	"github.com/podiumhq/podium/signaling/token"
)

// Config configures a host.
type Config struct {
	// Addr to listen on, e.g. "127.0.0.1:7880" ("127.0.0.1:0" picks a port).
	Addr   string
	Secret []byte
	Dev    bool
	// API network options for the SFU's ICE.
	API        rtcapi.Options
	ICEServers []webrtc.ICEServer
	Logger     *slog.Logger
	// MaxParticipants per room (0: server default).
	MaxParticipants int
	// Room holds the room rules' limits (hand latency bound, reconnect
	// grace, chat history); zero fields take room.Config's defaults.
	Room room.Config
	// SendQueue is each connection's outgoing queue length (0: server default).
	SendQueue int

	// TLSCert and TLSKey are PEM files: with them the host serves HTTPS
	// (and wss://). Without them it serves plain HTTP only on a loopback
	// address, or when BehindProxy says a TLS-terminating proxy is in
	// front (see CheckPlainHTTP).
	TLSCert, TLSKey string
	BehindProxy     bool
	// OriginPatterns are the other web origins allowed to open /ws
	// (server.Config.OriginPatterns; default same origin only).
	OriginPatterns []string
	// Message rate and resource limits (server.Config; 0: defaults).
	MsgRate   float64
	MsgBurst  int
	MaxRooms  int
	MaxTracks int
	// TURN, when set, starts an embedded TURN relay; each participant gets
	// it with time-limited credentials in its join answer.
	TURN *turnserver.Config
	// RoomStore, when set, keeps rooms' state across restarts
	// (signaling/roomlog); the caller closes it after Shutdown.
	RoomStore server.RoomStore
}

// CheckPlainHTTP refuses plain HTTP on addr unless addr is a loopback
// address or behindProxy is set: tokens and chat must not cross a network
// in clear text.
func CheckPlainHTTP(addr string, behindProxy bool) error {
	if behindProxy {
		return nil
	}
	hostPart, _, err := net.SplitHostPort(addr)
	if err != nil {
		return fmt.Errorf("host: listen address %q: %w", addr, err)
	}
	if hostPart == "localhost" {
		return nil
	}
	if ip := net.ParseIP(hostPart); ip != nil && ip.IsLoopback() {
		return nil
	}
	return fmt.Errorf("host: refusing plain HTTP on %s (not a loopback address): give a TLS certificate and key (--tls-cert, --tls-key), or --behind-proxy when a TLS-terminating proxy is in front", addr)
}

// Host is a running podiumd.
type Host struct {
	Server *server.Server
	SFU    *sfu.SFU
	// TURN is the embedded relay (nil without Config.TURN).
	TURN   *turnserver.Server
	Tokens token.Issuer
	ln     net.Listener
	scheme string // ws or wss
	http   *http.Server
	done   chan error
}

// Start listens on cfg.Addr and serves until Shutdown.
func Start(cfg Config) (*Host, error) {
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if len(cfg.Secret) < 16 {
		return nil, errors.New("host: a token secret of at least 16 bytes is required")
	}
	var tlsCfg *tls.Config
	switch {
	case cfg.TLSCert != "" || cfg.TLSKey != "":
		if cfg.TLSCert == "" || cfg.TLSKey == "" {
			return nil, errors.New("host: TLS needs both a certificate and a key file")
		}
		cert, err := tls.LoadX509KeyPair(cfg.TLSCert, cfg.TLSKey)
		if err != nil {
			return nil, fmt.Errorf("host: TLS certificate: %w", err)
		}
		tlsCfg = &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}
	default:
		if err := CheckPlainHTTP(cfg.Addr, cfg.BehindProxy); err != nil {
			return nil, err
		}
	}
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	s, err := sfu.New(sfu.Config{API: cfg.API, ICEServers: cfg.ICEServers, Registerer: reg, Logger: cfg.Logger})
	if err != nil {
		return nil, err
	}
	tokens := token.Issuer{Secret: cfg.Secret}
	var relay *turnserver.Server
	var iceFor func(string, string) []protocol.ICEServer
	if cfg.TURN != nil {
		tc := *cfg.TURN
		if tc.Logger == nil {
			tc.Logger = cfg.Logger
		}
		if relay, err = turnserver.Start(tc); err != nil {
			return nil, err
		}
		iceFor = func(_, identity string) []protocol.ICEServer { return []protocol.ICEServer{relay.ICEServer(identity)} }
	}
	srv := server.New(server.Config{ICEServers: iceFor, Tokens: tokens, Dev: cfg.Dev, Media: mediaAdapter{s}, Registerer: reg, Logger: cfg.Logger, MaxParticipants: cfg.MaxParticipants, Room: cfg.Room, SendQueue: cfg.SendQueue,
		OriginPatterns: cfg.OriginPatterns, MsgRate: cfg.MsgRate, MsgBurst: cfg.MsgBurst, MaxRooms: cfg.MaxRooms, MaxTracks: cfg.MaxTracks, RoomStore: cfg.RoomStore})
	mux := http.NewServeMux()
	mux.Handle("/ws", srv)
	mux.HandleFunc("/healthz", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/plain")
		_, _ = w.Write([]byte("ok\n"))
	})
	mux.Handle("/metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{}))
	mux.Handle("/", web.Handler())
	ln, err := net.Listen("tcp", cfg.Addr)
	if err != nil {
		if relay != nil {
			relay.Close()
		}
		return nil, err
	}
	scheme := "ws"
	if tlsCfg != nil {
		ln = tls.NewListener(ln, tlsCfg)
		scheme = "wss"
	}
	h := &Host{Server: srv, SFU: s, TURN: relay, Tokens: tokens, ln: ln, scheme: scheme, done: make(chan error, 1),
		http: &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}}
	go func() { h.done <- h.http.Serve(ln) }()
	cfg.Logger.Info("podiumd listening", "addr", ln.Addr().String(), "dev", cfg.Dev, "tls", tlsCfg != nil)
	return h, nil
}

// Addr is the listening address (host:port).
func (h *Host) Addr() string { return h.ln.Addr().String() }

// URL is the WebSocket signaling URL.
func (h *Host) URL() string { return h.scheme + "://" + h.Addr() + "/ws" }

// Shutdown stops accepting connections and closes open ones, waiting up to
// the context's deadline.
func (h *Host) Shutdown(ctx context.Context) error {
	err := h.http.Shutdown(ctx)
	if errors.Is(err, context.DeadlineExceeded) {
		_ = h.http.Close()
	}
	if h.TURN != nil {
		_ = h.TURN.Close()
	}
	return err
}

// Done reports the serve loop's end.
func (h *Host) Done() <-chan error { return h.done }

// mediaAdapter presents the SFU to the signaling server.
type mediaAdapter struct{ s *sfu.SFU }

type sigAdapter struct{ s server.MediaSignaler }

func (a sigAdapter) SendOffer(sdp string) { a.s.SendOffer(sdp) }
func (a sigAdapter) SendCandidate(c webrtc.ICECandidateInit) {
	a.s.SendCandidate(protocol.CandidateBody{Candidate: c.Candidate, SDPMid: c.SDPMid, SDPMLineIndex: c.SDPMLineIndex})
}

type peerAdapter struct{ *sfu.Peer }

func (p peerAdapter) AddCandidate(c protocol.CandidateBody) error {
	return p.Peer.AddCandidate(webrtc.ICECandidateInit{Candidate: c.Candidate, SDPMid: c.SDPMid, SDPMLineIndex: c.SDPMLineIndex})
}

func (m mediaAdapter) Join(room, id string, sig server.MediaSignaler, video, audio int) (server.MediaSession, error) {
	p, err := m.s.AddPeer(room, id, sigAdapter{sig}, video, audio)
	if err != nil {
		return nil, err
	}
	return peerAdapter{p}, nil
}
