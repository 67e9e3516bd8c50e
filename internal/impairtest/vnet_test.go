package impairtest

import (
	"context"
	"log/slog"
	"testing"
	"time"

	"github.com/pion/logging"
	"github.com/pion/transport/v5/vnet"

	"github.com/podiumhq/podium/internal/host"
	"github.com/podiumhq/podium/media/rtcapi"
	"github.com/podiumhq/podium/signaling/protocol"
)

// vnetLab is podiumd on loopback (signaling) whose SFU, like the
// participants, carries ICE and media over one pion vnet router: an
// in-process network with delay, jitter or packet filters (this kernel has
// no netem).
type vnetLab struct {
	h    *host.Host
	room string
	nets map[string]*vnet.Net // by IP: the SFU's is the first given
}

// newVNetLab starts the router (each packet held minDelay plus a uniform
// 0..jitter; filter may drop packets) with a Net per ip, and podiumd whose
// SFU uses the first. log nil: discard. Everything stops with the test.
func newVNetLab(t *testing.T, cidr string, minDelay, jitter time.Duration, filter vnet.ChunkFilter, log *slog.Logger, ips ...string) *vnetLab {
	t.Helper()
	wan, err := vnet.NewRouter(&vnet.RouterConfig{CIDR: cidr, MinDelay: minDelay, MaxJitter: jitter, LoggerFactory: logging.NewDefaultLoggerFactory()})
	if err != nil {
		t.Fatal(err)
	}
	if filter != nil {
		wan.AddChunkFilter(filter)
	}
	l := &vnetLab{room: "lab", nets: map[string]*vnet.Net{}}
	for _, ip := range ips {
		n, err := vnet.NewNet(&vnet.NetConfig{StaticIPs: []string{ip}})
		if err != nil {
			t.Fatal(err)
		}
		if err := wan.AddNet(n); err != nil {
			t.Fatal(err)
		}
		l.nets[ip] = n
	}
	if err := wan.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = wan.Stop() })
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	l.h, err = host.Start(host.Config{Addr: "127.0.0.1:0", Secret: []byte("vnet-lab-secret-0123456789"), API: rtcapi.Options{Net: l.nets[ips[0]]}, Logger: log})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = l.h.Shutdown(context.Background()) })
	return l
}

// api is the network options of a participant at ip.
func (l *vnetLab) api(ip string) rtcapi.Options { return rtcapi.Options{Net: l.nets[ip]} }

// token is an access token for id (a presenter) in the lab's room.
func (l *vnetLab) token(t *testing.T, id string) string {
	t.Helper()
	s, err := l.h.Tokens.Issue(l.room, id, id, protocol.RolePresenter, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	return s
}
