package main

import (
	"bytes"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestServeShutdownOnSIGTERM builds podiumd, starts it, checks /healthz and
// that SIGTERM stops it cleanly (exit status 0, "stopped" logged).
func TestServeShutdownOnSIGTERM(t *testing.T) {
	bin := filepath.Join(t.TempDir(), "podiumd")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("build: %v\n%s", err, out)
	}
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
