// Command podiumd is Podium's server: WebSocket signaling at /ws, an SFU,
// /healthz and /metrics.
//
//	podiumd [serve] --addr 0.0.0.0:443 --tls-cert cert.pem --tls-key key.pem --secret-file /etc/podium/secret
//	podiumd token --room R --name N --role presenter
//
// Every flag can also be set by an environment variable PODIUM_<FLAG> with
// dashes as underscores (e.g. PODIUM_SECRET, PODIUM_ADDR).
//
// Plain HTTP (ws://) is served only on a loopback address or with
// --behind-proxy (a TLS-terminating proxy in front); elsewhere give
// --tls-cert and --tls-key. Browsers may open /ws only from the server's
// own origin or --allowed-origins. Each connection's messages are rate
// limited (--msg-rate, --msg-burst: refused, then disconnected); rooms,
// participants per room and tracks per participant are bounded
// (--max-rooms, --max-participants, --max-tracks).
//
// With --state-dir every room's state (members, hands, stage, chat, Q&A,
// polls) is logged to a file there (signaling/roomlog), so a room survives
// a restart: it is rebuilt on its first join, and everyone it held counts
// as a dropped connection, with the reconnect grace to come back. Writes
// are buffered and fsynced every 100 ms: a crash loses at most the last
// 100 ms of room actions; SIGTERM loses nothing.
package main

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/podiumhq/podium/internal/host"
	"github.com/podiumhq/podium/internal/version"
	"github.com/podiumhq/podium/media/rtcapi"
	"github.com/podiumhq/podium/media/turnserver"
	"github.com/podiumhq/podium/signaling/protocol"
	"github.com/podiumhq/podium/signaling/roomlog"
	"github.com/podiumhq/podium/signaling/token"
)

func main() {
	args := os.Args[1:]
	cmd := "serve"
	if len(args) > 0 && !strings.HasPrefix(args[0], "-") {
		cmd, args = args[0], args[1:]
	}
	var err error
	switch cmd {
	case "serve":
		err = serve(args)
	case "token":
		err = mintToken(args)
	case "version":
		fmt.Println("podiumd", version.Version)
	default:
		err = fmt.Errorf("unknown command %q (serve, token, version)", cmd)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "podiumd:", err)
		os.Exit(1)
	}
}

// envDefaults lets PODIUM_<NAME> set any flag not given on the command line.
func envDefaults(fs *flag.FlagSet) error {
	set := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
	var err error
	fs.VisitAll(func(f *flag.Flag) {
		if set[f.Name] {
			return
		}
		if v, ok := os.LookupEnv("PODIUM_" + strings.ToUpper(strings.ReplaceAll(f.Name, "-", "_"))); ok {
			if e := fs.Set(f.Name, v); e != nil {
				err = fmt.Errorf("PODIUM_%s: %w", strings.ToUpper(f.Name), e)
			}
		}
	})
	return err
}

func readSecret(secret, file string) ([]byte, error) {
	if file != "" {
		b, err := os.ReadFile(file)
		if err != nil {
			return nil, err
		}
		secret = strings.TrimSpace(string(b))
	}
	return []byte(secret), nil
}

func serve(args []string) error {
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	addr := fs.String("addr", "127.0.0.1:7880", "listen address (host:port)")
	secret := fs.String("secret", "", "token signing secret (at least 16 bytes)")
	secretFile := fs.String("secret-file", "", "file holding the token signing secret")
	dev := fs.Bool("dev", false, "allow joins without a token from loopback addresses")
	loopback := fs.Bool("loopback", false, "keep ICE (media) on the loopback interface")
	ifaces := fs.String("interfaces", "", "comma-separated interfaces ICE may use (default: all)")
	publicIP := fs.String("public-ip", "", "public IPv4 to advertise when behind 1:1 NAT")
	udpMin := fs.Uint("udp-port-min", 0, "lowest UDP port for media")
	udpMax := fs.Uint("udp-port-max", 0, "highest UDP port for media")
	logLevel := fs.String("log-level", "info", "debug, info, warn or error")
	tlsCert := fs.String("tls-cert", "", "TLS certificate (PEM) for HTTPS/wss; without it plain HTTP is served only on loopback or --behind-proxy")
	tlsKey := fs.String("tls-key", "", "TLS private key (PEM)")
	behindProxy := fs.Bool("behind-proxy", false, "serve plain HTTP on a non-loopback address: a TLS-terminating proxy is in front")
	origins := fs.String("allowed-origins", "", "comma-separated extra web origins (host patterns, e.g. app.example.com, *.example.com) allowed to open /ws (default: same origin only)")
	msgRate := fs.Float64("msg-rate", 0, "incoming messages per second per connection (0: default 50; negative: unlimited)")
	msgBurst := fs.Int("msg-burst", 0, "burst of the per-connection message limit (0: default 200)")
	maxRooms := fs.Int("max-rooms", 0, "rooms open at once (0: default 1000)")
	maxParticipants := fs.Int("max-participants", 0, "participants per room (0: default 10000)")
	maxTracks := fs.Int("max-tracks", 0, "tracks a participant may publish (0: default 8)")
	turnAddr := fs.String("turn-addr", "", "UDP address (ip:port) for the embedded TURN relay (default: no relay)")
	turnIP := fs.String("turn-ip", "", "IP clients reach the TURN relay at (default: the --turn-addr IP)")
	turnRealm := fs.String("turn-realm", "podium", "TURN realm")
	turnSecret := fs.String("turn-secret", "", "shared secret for TURN credentials (default: derived from the token secret)")
	turnTTL := fs.Duration("turn-ttl", 12*time.Hour, "validity of the TURN credentials issued with each join")
	stateDir := fs.String("state-dir", "", "directory for room state, so rooms survive a restart (default: rooms live in memory only)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if err := envDefaults(fs); err != nil {
		return err
	}
	var lvl slog.Level
	if err := lvl.UnmarshalText([]byte(*logLevel)); err != nil {
		return err
	}
	log := slog.New(slog.NewJSONHandler(os.Stderr, &slog.HandlerOptions{Level: lvl}))
	slog.SetDefault(log)
	sec, err := readSecret(*secret, *secretFile)
	if err != nil {
		return err
	}
	if len(sec) == 0 && *dev {
		b := make([]byte, 32)
		_, _ = rand.Read(b)
		sec = []byte(hex.EncodeToString(b))
		log.Warn("no --secret given: using a random one for this run (dev mode)")
	}
	opts := rtcapi.Options{LoopbackOnly: *loopback, UDPPortMin: uint16(*udpMin), UDPPortMax: uint16(*udpMax)}
	if *ifaces != "" {
		opts.Interfaces = strings.Split(*ifaces, ",")
	}
	if *publicIP != "" {
		opts.NAT1To1IPs = []string{*publicIP}
	}
	cfg := host.Config{Addr: *addr, Secret: sec, Dev: *dev, API: opts, Logger: log,
		TLSCert: *tlsCert, TLSKey: *tlsKey, BehindProxy: *behindProxy,
		MsgRate: *msgRate, MsgBurst: *msgBurst, MaxRooms: *maxRooms, MaxParticipants: *maxParticipants, MaxTracks: *maxTracks}
	if *turnAddr != "" {
		ts := []byte(*turnSecret)
		if len(ts) == 0 {
			mac := hmac.New(sha256.New, sec)
			mac.Write([]byte("podium turn credentials"))
			ts = []byte(hex.EncodeToString(mac.Sum(nil)))
		}
		cfg.TURN = &turnserver.Config{Addr: *turnAddr, RelayIP: *turnIP, Realm: *turnRealm, Secret: ts, TTL: *turnTTL}
	}
	if *origins != "" {
		cfg.OriginPatterns = strings.Split(*origins, ",")
	}
	if *stateDir != "" {
		store, err := roomlog.Open(roomlog.Options{Dir: *stateDir, Logger: log})
		if err != nil {
			return err
		}
		// After Shutdown: what the rooms accepted until the end is written.
		defer store.Close()
		cfg.RoomStore = store
		log.Info("room state kept in files", "dir", *stateDir, "fsync", "every 100 ms")
	}
	h, err := host.Start(cfg)
	if err != nil {
		return err
	}
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, syscall.SIGTERM, syscall.SIGINT)
	select {
	case s := <-sig:
		log.Info("shutting down", "signal", s.String())
	case err := <-h.Done():
		return err
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	_ = h.Shutdown(ctx)
	log.Info("stopped")
	return nil
}

func mintToken(args []string) error {
	fs := flag.NewFlagSet("token", flag.ContinueOnError)
	room := fs.String("room", "", "room name")
	name := fs.String("name", "", "display name")
	identity := fs.String("identity", "", "participant identity (default: derived from name)")
	role := fs.String("role", "attendee", "attendee, presenter or host")
	ttl := fs.Duration("ttl", 24*time.Hour, "validity")
	secret := fs.String("secret", "", "token signing secret")
	secretFile := fs.String("secret-file", "", "file holding the token signing secret")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if err := envDefaults(fs); err != nil {
		return err
	}
	sec, err := readSecret(*secret, *secretFile)
	if err != nil {
		return err
	}
	id := *identity
	if id == "" {
		b := make([]byte, 4)
		_, _ = rand.Read(b)
		id = strings.ToLower(strings.ReplaceAll(*name, " ", "-")) + "-" + hex.EncodeToString(b)
	}
	tok, err := token.Issuer{Secret: sec}.Issue(*room, id, *name, protocol.Role(*role), *ttl)
	if err != nil {
		return err
	}
	fmt.Println(tok)
	return nil
}
