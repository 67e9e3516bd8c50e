// Package turnserver embeds a TURN relay (pion/turn) in podiumd for clients
// whose direct UDP path to the SFU is blocked. Credentials are
// time-limited, in the TURN REST API form (draft-uberti-behave-turn-rest,
// as RFC 7635 deployments use): username "expiry:identity" (expiry in Unix
// seconds), password base64(HMAC-SHA1(shared secret, username)). The
// signaling server hands them out with the join answer; nothing else needs
// the secret.
package turnserver

import (
	"crypto/hmac"
	"crypto/sha1"
	"encoding/base64"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/pion/logging"
	"github.com/pion/turn/v5"

	"github.com/podiumhq/podium/signaling/protocol"
)

// Config configures the relay.
type Config struct {
	// Addr is the UDP address to listen on (ip:port).
	Addr string
	// RelayIP is the address relays are bound to and advertised with, and
	// the host of the turn: URL given to clients (default: Addr's IP, which
	// then must not be unspecified).
	RelayIP string
	// Realm (default "podium").
	Realm string
	// Secret signs the credentials (at least 16 bytes).
	Secret []byte
	// TTL is how long issued credentials stay valid (default 12 h).
	TTL    time.Duration
	Logger *slog.Logger
}

// Server is a running relay.
type Server struct {
	cfg     Config
	srv     *turn.Server
	conn    net.PacketConn
	url     string
	relayed atomic.Int64
	allocs  atomic.Int64
}

// Start listens and serves until Close.
func Start(cfg Config) (*Server, error) {
	if len(cfg.Secret) < 16 {
		return nil, errors.New("turnserver: a shared secret of at least 16 bytes is required")
	}
	if cfg.Realm == "" {
		cfg.Realm = "podium"
	}
	if cfg.TTL <= 0 {
		cfg.TTL = 12 * time.Hour
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	host, _, err := net.SplitHostPort(cfg.Addr)
	if err != nil {
		return nil, fmt.Errorf("turnserver: address %q: %w", cfg.Addr, err)
	}
	if cfg.RelayIP == "" {
		cfg.RelayIP = host
	}
	relayIP := net.ParseIP(cfg.RelayIP)
	if relayIP == nil || relayIP.IsUnspecified() {
		return nil, fmt.Errorf("turnserver: relay IP %q: give the address clients reach the relay at", cfg.RelayIP)
	}
	conn, err := net.ListenPacket("udp4", cfg.Addr)
	if err != nil {
		return nil, fmt.Errorf("turnserver: %w", err)
	}
	s := &Server{cfg: cfg, conn: conn}
	port := conn.LocalAddr().(*net.UDPAddr).Port
	s.url = "turn:" + net.JoinHostPort(cfg.RelayIP, strconv.Itoa(port)) + "?transport=udp"
	lf := logging.NewDefaultLoggerFactory()
	lf.DefaultLogLevel = logging.LogLevelWarn
	gen := &countingGenerator{RelayAddressGeneratorStatic: turn.RelayAddressGeneratorStatic{RelayAddress: relayIP, Address: cfg.RelayIP}, s: s}
	s.srv, err = turn.NewServer(turn.ServerConfig{
		Realm:         cfg.Realm,
		AuthHandler:   turn.LongTermTURNRESTAuthHandler(string(cfg.Secret), lf.NewLogger("turn")),
		LoggerFactory: lf,
		PacketConnConfigs: []turn.PacketConnConfig{{
			PacketConn:            conn,
			RelayAddressGenerator: gen,
			// Relays only to unicast peers, never to loopback or the
			// relay's own listening socket.
			PermissionHandler: func(_ net.Addr, peer net.IP) bool {
				return !peer.IsUnspecified() && !peer.IsMulticast()
			},
		}},
	})
	if err != nil {
		conn.Close()
		return nil, fmt.Errorf("turnserver: %w", err)
	}
	cfg.Logger.Info("TURN relay listening", "addr", conn.LocalAddr().String(), "url", s.url, "realm", cfg.Realm)
	return s, nil
}

// URL is the turn: URL clients use.
func (s *Server) URL() string { return s.url }

// Addr is the UDP listening address.
func (s *Server) Addr() string { return s.conn.LocalAddr().String() }

// Credentials issues a username and password for identity valid for the
// configured TTL.
func (s *Server) Credentials(identity string) (username, password string) {
	return Credentials(s.cfg.Secret, identity, time.Now().Add(s.cfg.TTL))
}

// Credentials computes TURN REST credentials valid until expiry.
func Credentials(secret []byte, identity string, expiry time.Time) (username, password string) {
	username = strconv.FormatInt(expiry.Unix(), 10) + ":" + identity
	mac := hmac.New(sha1.New, secret)
	mac.Write([]byte(username))
	return username, base64.StdEncoding.EncodeToString(mac.Sum(nil))
}

// ICEServer is the relay as an ICE server entry for identity.
func (s *Server) ICEServer(identity string) protocol.ICEServer {
	u, p := s.Credentials(identity)
	return protocol.ICEServer{URLs: []string{s.url}, Username: u, Credential: p}
}

// Stats reports allocations made and bytes relayed (both directions).
func (s *Server) Stats() (allocations, relayedBytes int64) {
	return s.allocs.Load(), s.relayed.Load()
}

// Close stops the relay.
func (s *Server) Close() error { return s.srv.Close() }

// countingGenerator counts allocations and relayed bytes.
type countingGenerator struct {
	turn.RelayAddressGeneratorStatic
	s *Server
}

func (g *countingGenerator) AllocatePacketConn(c turn.AllocateListenerConfig) (net.PacketConn, net.Addr, error) {
	pc, addr, err := g.RelayAddressGeneratorStatic.AllocatePacketConn(c)
	if err != nil {
		return nil, nil, err
	}
	g.s.allocs.Add(1)
	return &countingConn{PacketConn: pc, n: &g.s.relayed}, addr, nil
}

type countingConn struct {
	net.PacketConn
	n *atomic.Int64
}

func (c *countingConn) ReadFrom(b []byte) (int, net.Addr, error) {
	n, a, err := c.PacketConn.ReadFrom(b)
	c.n.Add(int64(n))
	return n, a, err
}

func (c *countingConn) WriteTo(b []byte, a net.Addr) (int, error) {
	n, err := c.PacketConn.WriteTo(b, a)
	c.n.Add(int64(n))
	return n, err
}
