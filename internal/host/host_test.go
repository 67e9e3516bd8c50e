package host_test

import (
	"context"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/podiumhq/podium/internal/host"
	"github.com/podiumhq/podium/media/rtcapi"
	"github.com/podiumhq/podium/signaling/client"
	"github.com/podiumhq/podium/signaling/protocol"
)

func get(t *testing.T, url string) string {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 200 {
		t.Fatalf("GET %s: %s", url, resp.Status)
	}
	return string(b)
}

// TestHealthAndMetrics: /healthz answers, and /metrics reports rooms and
// participants after a join.
func TestHealthAndMetrics(t *testing.T) {
	h, err := host.Start(host.Config{Addr: "127.0.0.1:0", Secret: []byte("host-test-secret-012345"), API: rtcapi.Options{LoopbackOnly: true}})
	if err != nil {
		t.Fatal(err)
	}
	defer h.Shutdown(context.Background())
	if got := get(t, "http://"+h.Addr()+"/healthz"); !strings.Contains(got, "ok") {
		t.Fatalf("healthz: %q", got)
	}
	tok, _ := h.Tokens.Issue("m", "p1", "P1", protocol.RoleHost, time.Minute)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	c, err := client.Dial(ctx, h.URL())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if _, err := c.Send(ctx, protocol.TypeJoin, protocol.JoinBody{Token: tok}); err != nil {
		t.Fatal(err)
	}
	for env := range c.Messages() {
		if env.Type == protocol.TypeJoined {
			break
		}
	}
	m := get(t, "http://"+h.Addr()+"/metrics")
	for _, want := range []string{"podium_rooms 1", "podium_participants 1", "podium_sfu_tracks", "podium_sfu_forwarded_packets_total", "podium_sfu_forwarded_bytes_total", `podium_signaling_messages_total{type="join"} 1`} {
		if !strings.Contains(m, want) {
			t.Errorf("/metrics lacks %q", want)
		}
	}
}
