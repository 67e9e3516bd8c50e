package server_test

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/podiumhq/podium/internal/host"
	"github.com/podiumhq/podium/media/rtcapi"
	"github.com/podiumhq/podium/signaling/client"
	"github.com/podiumhq/podium/signaling/protocol"
	"github.com/podiumhq/podium/signaling/token"
)

const secret = "server-test-secret-0123456789"

func startHost(t *testing.T, dev bool) *host.Host {
	t.Helper()
	h, err := host.Start(host.Config{Addr: "127.0.0.1:0", Secret: []byte(secret), Dev: dev, API: rtcapi.Options{LoopbackOnly: true}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = h.Shutdown(context.Background()) })
	return h
}

func dial(t *testing.T, h *host.Host) *client.Client {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	c, err := client.Dial(ctx, h.URL())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Close() })
	return c
}

// next returns the next message of one of the given types, skipping others
// (offers, candidates), failing after 5 s.
func next(t *testing.T, c *client.Client, types ...string) protocol.Envelope {
	t.Helper()
	timeout := time.After(5 * time.Second)
	for {
		select {
		case env, ok := <-c.Messages():
			if !ok {
				t.Fatalf("connection closed while waiting for %v: %v", types, c.Err())
			}
			for _, ty := range types {
				if env.Type == ty {
					return env
				}
			}
		case <-timeout:
			t.Fatalf("no %v within 5 s", types)
		}
	}
}

func send(t *testing.T, c *client.Client, typ string, body any) string {
	t.Helper()
	id, err := c.Send(context.Background(), typ, body)
	if err != nil {
		t.Fatal(err)
	}
	return id
}

func wantError(t *testing.T, c *client.Client, code string) protocol.ErrorBody {
	t.Helper()
	env := next(t, c, protocol.TypeError)
	var e protocol.ErrorBody
	if err := json.Unmarshal(env.Body, &e); err != nil {
		t.Fatal(err)
	}
	if e.Code != code {
		t.Fatalf("error code %q (%s), want %q", e.Code, e.Message, code)
	}
	if e.Message == "" {
		t.Fatalf("error %q has no message", code)
	}
	return e
}

func tok(t *testing.T, room, id string, role protocol.Role, ttl time.Duration) string {
	t.Helper()
	s, err := token.Issuer{Secret: []byte(secret)}.Issue(room, id, id, role, ttl)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func join(t *testing.T, h *host.Host, room, id string) (*client.Client, protocol.JoinedBody) {
	t.Helper()
	c := dial(t, h)
	send(t, c, protocol.TypeJoin, protocol.JoinBody{Token: tok(t, room, id, protocol.RoleAttendee, time.Hour), Publish: &protocol.PublishBody{Video: 1, Audio: 1}})
	env := next(t, c, protocol.TypeJoined, protocol.TypeError)
	if env.Type == protocol.TypeError {
		t.Fatalf("join %s: %s", id, env.Body)
	}
	var j protocol.JoinedBody
	if err := json.Unmarshal(env.Body, &j); err != nil {
		t.Fatal(err)
	}
	return c, j
}

// roomCarriesOn checks that a bystander already in room still hears about a
// newcomer, i.e. the room kept working after the bad input.
func roomCarriesOn(t *testing.T, h *host.Host, bystander *client.Client, room string) {
	t.Helper()
	newcomer := "newcomer-" + strings.ReplaceAll(t.Name(), "/", "-")
	join(t, h, room, newcomer)
	for {
		env := next(t, bystander, protocol.TypeParticipantJoined)
		var p protocol.Participant
		_ = json.Unmarshal(env.Body, &p)
		if p.ID == newcomer {
			return
		}
	}
}

func TestBadInputMalformedJSON(t *testing.T) {
	h := startHost(t, false)
	by, _ := join(t, h, "r", "bystander")
	c, _ := join(t, h, "r", "sender")
	if err := c.SendRaw(context.Background(), []byte(`{"type":"join", "body": {`)); err != nil {
		t.Fatal(err)
	}
	wantError(t, c, protocol.ErrBadMessage)
	// The same connection still works.
	send(t, c, protocol.TypePing, protocol.PingBody{ClientTimeMs: 1})
	next(t, c, protocol.TypePong)
	roomCarriesOn(t, h, by, "r")
}

func TestBadInputUnknownType(t *testing.T) {
	h := startHost(t, false)
	by, _ := join(t, h, "r", "bystander")
	c, _ := join(t, h, "r", "sender")
	if err := c.SendRaw(context.Background(), []byte(`{"type":"teleport","id":"7"}`)); err != nil {
		t.Fatal(err)
	}
	e := wantError(t, c, protocol.ErrUnknownType)
	if !strings.Contains(e.Message, "teleport") {
		t.Fatalf("message %q does not name the type", e.Message)
	}
	roomCarriesOn(t, h, by, "r")
}

func TestBadInputOversizedMessage(t *testing.T) {
	h := startHost(t, false)
	by, _ := join(t, h, "r", "bystander")
	c, _ := join(t, h, "r", "sender")
	big := `{"type":"answer","body":{"sdp":"` + strings.Repeat("a", protocol.MaxMessageBytes) + `"}}`
	if err := c.SendRaw(context.Background(), []byte(big)); err != nil {
		t.Fatal(err)
	}
	wantError(t, c, protocol.ErrTooLarge)
	send(t, c, protocol.TypePing, protocol.PingBody{ClientTimeMs: 2})
	next(t, c, protocol.TypePong)
	roomCarriesOn(t, h, by, "r")
}

func TestBadInputInvalidSDP(t *testing.T) {
	h := startHost(t, false)
	by, _ := join(t, h, "r", "bystander")
	c, _ := join(t, h, "r", "sender")
	next(t, c, protocol.TypeOffer)
	send(t, c, protocol.TypeAnswer, protocol.SDPBody{SDP: "v=0\r\nthis is not sdp\r\n"})
	// An error, and the SFU's offer again so the client can recover.
	var sawErr, sawOffer bool
	for !sawErr || !sawOffer {
		env := next(t, c, protocol.TypeError, protocol.TypeOffer)
		if env.Type == protocol.TypeOffer {
			sawOffer = true
			continue
		}
		var e protocol.ErrorBody
		_ = json.Unmarshal(env.Body, &e)
		if e.Code != protocol.ErrBadSDP {
			t.Fatalf("error %+v, want %s", e, protocol.ErrBadSDP)
		}
		sawErr = true
	}
	roomCarriesOn(t, h, by, "r")
}

func TestBadInputBadToken(t *testing.T) {
	h := startHost(t, false)
	by, _ := join(t, h, "r", "bystander")
	for name, tk := range map[string]string{
		"garbage": "not.a.jwt",
		"wrongsecret": func() string {
			s, _ := token.Issuer{Secret: []byte("another-secret-0123456789")}.Issue("r", "x", "x", protocol.RoleHost, time.Hour)
			return s
		}(),
		"empty": "",
	} {
		c := dial(t, h)
		send(t, c, protocol.TypeJoin, protocol.JoinBody{Token: tk})
		wantError(t, c, protocol.ErrUnauthorized)
		_ = name
	}
	roomCarriesOn(t, h, by, "r")
}

func TestBadInputExpiredToken(t *testing.T) {
	h := startHost(t, false)
	by, _ := join(t, h, "r", "bystander")
	c := dial(t, h)
	send(t, c, protocol.TypeJoin, protocol.JoinBody{Token: tok(t, "r", "late", protocol.RoleAttendee, -time.Minute)})
	wantError(t, c, protocol.ErrTokenExpired)
	roomCarriesOn(t, h, by, "r")
}

func TestBadInputTokenForAnotherRoom(t *testing.T) {
	h := startHost(t, false)
	by, _ := join(t, h, "r", "bystander")
	c := dial(t, h)
	send(t, c, protocol.TypeJoin, protocol.JoinBody{Token: tok(t, "other", "x", protocol.RoleAttendee, time.Hour), Room: "r"})
	wantError(t, c, protocol.ErrUnauthorized)
	roomCarriesOn(t, h, by, "r")
}

func TestBadInputSecondJoinSameIdentity(t *testing.T) {
	h := startHost(t, false)
	by, _ := join(t, h, "r", "bystander")
	first, _ := join(t, h, "r", "dup")
	next(t, by, protocol.TypeParticipantJoined)
	second, j := join(t, h, "r", "dup")
	if j.Self.ID != "dup" || len(j.Participants) != 1 {
		t.Fatalf("second session got %+v", j)
	}
	wantError(t, first, protocol.ErrReplaced)
	select {
	case <-first.Done():
	case <-time.After(5 * time.Second):
		t.Fatal("replaced connection was not closed")
	}
	// The new session works and the room still lists dup once.
	send(t, second, protocol.TypePing, protocol.PingBody{ClientTimeMs: 3})
	next(t, second, protocol.TypePong)
	if _, n := h.Server.Rooms(); n != 2 {
		t.Fatalf("%d participants, want 2 (bystander, dup)", n)
	}
	roomCarriesOn(t, h, by, "r")
}

func TestBadInputBeforeJoin(t *testing.T) {
	h := startHost(t, false)
	c := dial(t, h)
	send(t, c, protocol.TypeAnswer, protocol.SDPBody{SDP: "x"})
	wantError(t, c, protocol.ErrNotJoined)
}

func TestDevJoinOnlyWithDevFlag(t *testing.T) {
	h := startHost(t, false)
	c := dial(t, h)
	send(t, c, protocol.TypeJoin, protocol.JoinBody{Room: "r", Name: "n"})
	wantError(t, c, protocol.ErrUnauthorized)

	hd := startHost(t, true)
	c2 := dial(t, hd)
	send(t, c2, protocol.TypeJoin, protocol.JoinBody{Room: "r", Name: "n", Publish: &protocol.PublishBody{}})
	next(t, c2, protocol.TypeJoined)
}
