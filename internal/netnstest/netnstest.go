// Package netnstest runs parts of a test in network namespaces the test
// creates itself: the test binary re-executes itself (one test, one role)
// with CLONE_NEWNET, in its own process group, killed with its parent. Only
// such namespaces may have their interfaces, addresses, nftables rules or
// qdiscs changed; RequireOwn guards that. Tests using it need root.
package netnstest

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"os/exec"
	"syscall"
	"testing"
	"time"
)

// Child is a test process running in a new network namespace.
type Child struct {
	Cmd    *exec.Cmd
	done   chan struct{}
	cancel context.CancelFunc
}

// Start re-runs the test named test (e.g. "TestTURNRelay") in a new network
// namespace with env added to the environment (typically a role variable
// the test switches on), for at most timeout. Each line the child prints
// (stdout and stderr) goes to onLine.
func Start(t testing.TB, test string, timeout time.Duration, env []string, onLine func(string)) *Child {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	cmd := exec.CommandContext(ctx, os.Args[0], "-test.run=^"+test+"$", "-test.v", "-test.count=1",
		"-test.timeout="+(timeout-5*time.Second).String())
	cmd.Env = append(os.Environ(), env...)
	cmd.SysProcAttr = &syscall.SysProcAttr{Cloneflags: syscall.CLONE_NEWNET, Setpgid: true, Pdeathsig: syscall.SIGKILL}
	out, err := cmd.StdoutPipe()
	if err != nil {
		cancel()
		t.Fatal(err)
	}
	cmd.Stderr = cmd.Stdout
	if err := cmd.Start(); err != nil {
		cancel()
		t.Fatalf("start %s in a new network namespace: %v", test, err)
	}
	c := &Child{Cmd: cmd, done: make(chan struct{}), cancel: cancel}
	go func() {
		defer close(c.done)
		sc := bufio.NewScanner(out)
		sc.Buffer(make([]byte, 1<<20), 1<<20)
		for sc.Scan() {
			onLine(sc.Text())
		}
	}()
	return c
}

// Wait waits for the child to end, then kills what is left of its process
// group (helpers such as a browser) so that the namespace, freed with its
// last process, goes away. It returns the child's exit error, or an error
// when processes of the group survive for 5 s.
func (c *Child) Wait() error {
	<-c.done
	err := c.Cmd.Wait()
	c.cancel()
	pgid := c.Cmd.Process.Pid
	_ = syscall.Kill(-pgid, syscall.SIGKILL)
	for i := 0; i < 50 && syscall.Kill(-pgid, 0) == nil; i++ {
		time.Sleep(100 * time.Millisecond)
	}
	if err == nil && syscall.Kill(-pgid, 0) == nil {
		err = fmt.Errorf("processes of group %d (in the test's network namespace) survive", pgid)
	}
	return err
}

// HostNS identifies the calling process's network namespace
// ("net:[inode]").
func HostNS() (string, error) { return os.Readlink("/proc/self/ns/net") }

// RequireOwn fails the test unless this process runs in a network namespace
// other than host (as returned by HostNS in the parent): the guard before
// changing any interface.
func RequireOwn(t testing.TB, host string) {
	t.Helper()
	ns, err := HostNS()
	if err != nil || host == "" || ns == host {
		t.Fatalf("not in a network namespace of the test's own (%q, host %q, %v); refusing to change interfaces", ns, host, err)
	}
}
