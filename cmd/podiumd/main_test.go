package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/podiumhq/podium/signaling/client"
	"github.com/podiumhq/podium/signaling/protocol"
	"github.com/podiumhq/podium/signaling/roomlog"
	"github.com/podiumhq/podium/signaling/token"
)

var (
	buildOnce sync.Once
	binPath   string
	buildErr  error
)

// build builds podiumd once for the package's tests.
func build(t *testing.T) string {
	t.Helper()
	buildOnce.Do(func() {
		dir, err := os.MkdirTemp("", "podiumd-test")
		if err != nil {
			buildErr = err
			return
		}
		binPath = filepath.Join(dir, "podiumd")
		if out, err := exec.Command("go", "build", "-o", binPath, ".").CombinedOutput(); err != nil {
			buildErr = fmt.Errorf("build: %v\n%s", err, out)
		}
	})
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	return binPath
}

func TestMain(m *testing.M) {
	code := m.Run()
	if binPath != "" {
		_ = os.RemoveAll(filepath.Dir(binPath))
	}
	os.Exit(code)
}

// TestServeShutdownOnSIGTERM builds podiumd, starts it, checks /healthz and
// that SIGTERM stops it cleanly (exit status 0, "stopped" logged).
func TestServeShutdownOnSIGTERM(t *testing.T) {
	bin := build(t)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	var logs bytes.Buffer
	cmd := exec.Command(bin, "serve", "--addr", addr, "--loopback")
	cmd.Env = append(os.Environ(), "PODIUM_SECRET=sigterm-test-secret-0123")
	cmd.Stderr = &logs
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	ok := false
	for i := 0; i < 100 && !ok; i++ {
		if resp, err := http.Get("http://" + addr + "/healthz"); err == nil {
			resp.Body.Close()
			ok = resp.StatusCode == 200
		} else {
			time.Sleep(50 * time.Millisecond)
		}
	}
	if !ok {
		cmd.Process.Kill()
		t.Fatalf("podiumd never became healthy:\n%s", logs.String())
	}
	_ = cmd.Process.Signal(syscall.SIGTERM)
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("exit: %v\n%s", err, logs.String())
		}
	case <-time.After(15 * time.Second):
		cmd.Process.Kill()
		t.Fatal("podiumd did not stop within 15 s of SIGTERM")
	}
	if !strings.Contains(logs.String(), `"msg":"stopped"`) {
		t.Fatalf("no shutdown log:\n%s", logs.String())
	}
}

// TestTokenCommand prints a token that verifies with the same secret.
func TestTokenCommand(t *testing.T) {
	t.Setenv("PODIUM_SECRET", "token-cmd-secret-0123456")
	if err := mintToken([]string{"--room", "r", "--name", "Ada", "--role", "presenter"}); err != nil {
		t.Fatal(err)
	}
	if err := mintToken([]string{"--room", "r", "--name", "Ada", "--role", "king"}); err == nil {
		t.Fatal("an invalid role was accepted")
	}
}

// startPodiumd runs podiumd serve on addr with args and waits until
// /healthz answers.
// syncBuffer collects a child's log: exec copies into it from a goroutine
// of its own while the test reads it.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func startPodiumd(t *testing.T, addr string, logs *syncBuffer, args ...string) *exec.Cmd {
	t.Helper()
	cmd := exec.Command(build(t), append([]string{"serve", "--addr", addr, "--loopback"}, args...)...)
	cmd.Env = append(os.Environ(), "PODIUM_SECRET="+stateSecret)
	cmd.Stderr = logs
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	for i := 0; i < 200; i++ {
		if resp, err := http.Get("http://" + addr + "/healthz"); err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				return cmd
			}
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("podiumd never became healthy:\n%s", logs.String())
	return nil
}

const stateSecret = "state-dir-test-secret-0123"

// joinRoom joins room r as id (signaling only) and returns the
// connection and the room snapshot.
func joinRoom(t *testing.T, addr, id string, role protocol.Role) (*client.Client, protocol.RoomSnapshot) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c, err := client.Dial(ctx, "ws://"+addr+"/ws")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Close() })
	tok, _ := token.Issuer{Secret: []byte(stateSecret)}.Issue("r", id, id, role, time.Hour)
	if _, err := c.Send(ctx, protocol.TypeJoin, protocol.JoinBody{Token: tok, SignalingOnly: true}); err != nil {
		t.Fatal(err)
	}
	var j protocol.JoinedBody
	reply(t, c, protocol.TypeJoined, &j)
	return c, *j.State
}

// reply waits for the next message of type typ and decodes its body.
func reply(t *testing.T, c *client.Client, typ string, body any) {
	t.Helper()
	timeout := time.After(10 * time.Second)
	for {
		select {
		case env, ok := <-c.Messages():
			if !ok {
				t.Fatalf("closed while waiting for %s: %v", typ, c.Err())
			}
			if env.Type == protocol.TypeError {
				t.Fatalf("waiting for %s: error %s", typ, env.Body)
			}
			if env.Type == typ {
				if err := json.Unmarshal(env.Body, body); err != nil {
					t.Fatal(err)
				}
				return
			}
		case <-timeout:
			t.Fatalf("no %s within 10 s", typ)
		}
	}
}

// TestStateDirSurvivesKill: podiumd with --state-dir is killed (SIGKILL,
// no chance to write anything more) once the room's log has reached the
// disk, and started again on the same directory: a participant who comes
// back finds the chat and its raised hand (same place) as they were.
func TestStateDirSurvivesKill(t *testing.T) {
	dir := t.TempDir()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	var logs syncBuffer
	cmd := startPodiumd(t, addr, &logs, "--state-dir", dir)
	c, _ := joinRoom(t, addr, "ada", protocol.RoleAttendee)
	ctx := context.Background()
	var ack protocol.AckBody
	if _, err := c.Send(ctx, protocol.TypeChatSend, protocol.ChatSendBody{ClientMsgID: "m1", Text: "written before the kill"}); err != nil {
		t.Fatal(err)
	}
	reply(t, c, protocol.TypeAck, &ack)
	if _, err := c.Send(ctx, protocol.TypeHandRaise, protocol.HandBody{}); err != nil {
		t.Fatal(err)
	}
	reply(t, c, protocol.TypeAck, &ack)
	if ack.Position != 1 {
		t.Fatalf("raise: %+v", ack)
	}
	// The writer fsyncs every 100 ms; wait until the log holds the raise.
	path := filepath.Join(dir, roomlog.FileName("r"))
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		if b, _ := os.ReadFile(path); bytes.Contains(b, []byte(`"hand-raise"`)) || bytes.Contains(b, []byte(`"raised":true`)) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the room log never held the raise:\n%s", logs.String())
		}
	}
	_ = cmd.Process.Kill()
	_ = cmd.Wait()
	_ = c.Close()

	startPodiumd(t, addr, &logs, "--state-dir", dir)
	_, snap := joinRoom(t, addr, "ada", protocol.RoleAttendee)
	if len(snap.Chat) != 1 || snap.Chat[0].Text != "written before the kill" || snap.Position != 1 || snap.Count != 1 {
		t.Fatalf("after the kill the room holds chat %+v, position %d of %d\n%s", snap.Chat, snap.Position, snap.Count, logs.String())
	}
	// The log line comes through a pipe: it may land a moment after the
	// join's answer.
	for deadline := time.Now().Add(5 * time.Second); !strings.Contains(logs.String(), `"msg":"room restored"`); time.Sleep(20 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("no restore logged:\n%s", logs.String())
		}
	}
}
