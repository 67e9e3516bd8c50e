// Command podium-soak runs participants joining, chatting, raising hands,
// leaving and reconnecting in a loop against a podiumd on loopback, and
// reports goroutines, heap, RSS and open file descriptors at the start and
// the end (after everyone has left and the reconnect grace has passed).
//
//	podium-soak [-participants 200] [-duration 10m] [-rooms 4] [-cut-every 5s] [-store=true]
//
// With -store (the default) the rooms are kept by a room store
// (signaling/roomlog) in a temporary state directory, as podiumd
// --state-dir does; at the end every room has ended, so no log may be left.
//
// The server runs in this process (host.Start on 127.0.0.1), so the
// figures cover the server and the clients together. Participants use
// participant.Outbox (reliable requests, automatic reconnects) through a
// proxy that cuts every connection every -cut-every. The run fails (exit
// status 1) when, at the end, goroutines or file descriptors exceed the
// start by more than 20, the heap in use by more than 32 MiB or the
// resident set by more than 64 MiB (after returning freed memory to the
// OS), or when a room log is left in the state directory.
package main

import (
	"context"
	"flag"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"os"
	"runtime"
	"runtime/debug"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/podiumhq/podium/internal/host"
	"github.com/podiumhq/podium/internal/netcut"
	"github.com/podiumhq/podium/media/participant"
	"github.com/podiumhq/podium/media/rtcapi"
	"github.com/podiumhq/podium/signaling/protocol"
	"github.com/podiumhq/podium/signaling/room"
	"github.com/podiumhq/podium/signaling/roomlog"
)

// Bounds on growth from start to end.
const (
	maxGoroutineGrowth = 20
	maxFDGrowth        = 20
	maxHeapGrowth      = 32 << 20
	maxRSSGrowth       = 64 << 20
)

func main() {
	n := flag.Int("participants", 200, "participants")
	d := flag.Duration("duration", 10*time.Minute, "how long to run")
	rooms := flag.Int("rooms", 4, "rooms the participants spread over")
	cut := flag.Duration("cut-every", 5*time.Second, "cut every connection this often (0: never)")
	store := flag.Bool("store", true, "keep rooms in a room store (temporary state directory), as podiumd --state-dir")
	flag.Parse()
	r, err := Run(Options{Participants: *n, Duration: *d, Rooms: *rooms, CutEvery: *cut, Store: *store, Log: os.Stdout})
	if err != nil {
		fmt.Fprintln(os.Stderr, "podium-soak:", err)
		os.Exit(1)
	}
	if err := r.Check(); err != nil {
		fmt.Fprintln(os.Stderr, "podium-soak:", err)
		os.Exit(1)
	}
}

// Options configures a run.
type Options struct {
	Participants int
	Duration     time.Duration
	Rooms        int
	CutEvery     time.Duration
	// Store keeps the rooms in a room store in a temporary directory.
	Store bool
	Log   *os.File
}

// Sample is the process's resources at one moment.
type Sample struct {
	Goroutines int
	HeapInuse  uint64
	// RSS is the resident set (VmRSS), measured after freed memory went
	// back to the OS (debug.FreeOSMemory).
	RSS uint64
	FDs int
}

func sample() Sample {
	runtime.GC()
	runtime.GC() // twice: pooled objects go on the second
	debug.FreeOSMemory()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	ents, _ := os.ReadDir("/proc/self/fd")
	return Sample{Goroutines: runtime.NumGoroutine(), HeapInuse: m.HeapInuse, RSS: rss(), FDs: len(ents)}
}

// rss reads VmRSS from /proc/self/status (0 when unavailable).
func rss() uint64 {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0
	}
	for _, l := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(l, "VmRSS:"); ok {
			kb, _ := strconv.ParseUint(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 10, 64)
			return kb << 10
		}
	}
	return 0
}

func (s Sample) String() string {
	return fmt.Sprintf("goroutines %d, heap in use %.1f MiB, RSS %.1f MiB, fds %d", s.Goroutines, float64(s.HeapInuse)/(1<<20), float64(s.RSS)/(1<<20), s.FDs)
}

// Report is a run's outcome.
type Report struct {
	Start, Peak, End                         Sample
	Joins, Leaves, Requests, Failed, Reconns int64
	// JoinFailed counts first joins cut by the proxy (retried by the loop).
	JoinFailed int64
	// LogsLeft is the room logs left in the state directory at the end
	// (-store; every room has ended, so 0).
	LogsLeft int
}

// Check applies the growth bounds.
func (r Report) Check() error {
	if g := r.End.Goroutines - r.Start.Goroutines; g > maxGoroutineGrowth {
		return fmt.Errorf("goroutines grew by %d (bound %d)", g, maxGoroutineGrowth)
	}
	if f := r.End.FDs - r.Start.FDs; f > maxFDGrowth {
		return fmt.Errorf("file descriptors grew by %d (bound %d)", f, maxFDGrowth)
	}
	if r.End.HeapInuse > r.Start.HeapInuse+maxHeapGrowth {
		return fmt.Errorf("heap grew by %.1f MiB (bound %d MiB)", float64(r.End.HeapInuse-r.Start.HeapInuse)/(1<<20), maxHeapGrowth>>20)
	}
	if r.End.RSS > r.Start.RSS+maxRSSGrowth {
		return fmt.Errorf("RSS grew by %.1f MiB (bound %d MiB)", float64(r.End.RSS-r.Start.RSS)/(1<<20), maxRSSGrowth>>20)
	}
	if r.LogsLeft != 0 {
		return fmt.Errorf("%d room logs left after every room ended", r.LogsLeft)
	}
	return nil
}

// Run runs the soak.
func Run(o Options) (Report, error) {
	var rep Report
	logf := func(format string, args ...any) {
		if o.Log != nil {
			fmt.Fprintf(o.Log, format+"\n", args...)
		}
	}
	quiet := slog.New(slog.DiscardHandler)
	const grace = 2 * time.Second
	var store *roomlog.Store
	if o.Store {
		dir, err := os.MkdirTemp("", "podium-soak-state")
		if err != nil {
			return rep, err
		}
		defer os.RemoveAll(dir)
		if store, err = roomlog.Open(roomlog.Options{Dir: dir, Logger: quiet}); err != nil {
			return rep, err
		}
		defer store.Close()
		logf("room store: %s", dir)
	}
	hc := host.Config{Addr: "127.0.0.1:0", Secret: []byte("podium-soak-secret-0123456789"), API: rtcapi.Options{LoopbackOnly: true},
		Logger: quiet, Room: room.Config{GraceMs: grace.Milliseconds()}}
	if store != nil {
		hc.RoomStore = store
	}
	h, err := host.Start(hc)
	if err != nil {
		return rep, err
	}
	defer h.Shutdown(context.Background())
	px, err := netcut.New(h.Addr())
	if err != nil {
		return rep, err
	}
	defer px.Close()
	url := "ws://" + px.Addr() + "/ws"
	rep.Start = sample()
	logf("start: %v (server port %s, proxy port %s)", rep.Start, portOf(h.Addr()), portOf(px.Addr()))

	ctx, cancel := context.WithTimeout(context.Background(), o.Duration)
	defer cancel()
	if o.CutEvery > 0 {
		go func() {
			tk := time.NewTicker(o.CutEvery)
			defer tk.Stop()
			for {
				select {
				case <-ctx.Done():
					return
				case <-tk.C:
					px.Cut()
				}
			}
		}()
	}
	var peak atomic.Pointer[Sample]
	go func() {
		sleep(ctx, o.CutEvery/2) // sample between cuts, not as everyone reconnects
		tk := time.NewTicker(10 * time.Second)
		defer tk.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-tk.C:
				s := sample()
				if p := peak.Load(); p == nil || s.Goroutines > p.Goroutines {
					peak.Store(&s)
				}
				_, np := h.Server.Rooms()
				logf("%s: %v; %d participants joined; %d joins, %d requests so far", time.Now().Format(time.TimeOnly), s, np, atomic.LoadInt64(&rep.Joins), atomic.LoadInt64(&rep.Requests))
			}
		}
	}()
	var wg sync.WaitGroup
	for i := 0; i < o.Participants; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			id := fmt.Sprintf("soak-%d", i)
			roomName := fmt.Sprintf("soak-room-%d", i%max(o.Rooms, 1))
			role := protocol.RoleAttendee
			if i < o.Rooms {
				role = protocol.RolePresenter
			}
			tok, _ := h.Tokens.Issue(roomName, id, id, role, 24*time.Hour)
			rng := rand.New(rand.NewPCG(uint64(i), 7))
			for ctx.Err() == nil {
				jctx, jcancel := context.WithTimeout(ctx, 10*time.Second)
				ob, err := participant.DialOutbox(jctx, participant.OutboxConfig{URL: url, Token: tok, Logger: quiet})
				jcancel()
				if err != nil {
					if ctx.Err() == nil && atomic.AddInt64(&rep.JoinFailed, 1) <= 3 {
						logf("first join cut (retried): %v", err)
					}
					sleep(ctx, time.Second)
					continue
				}
				atomic.AddInt64(&rep.Joins, 1)
				for k := 0; k < 1+rng.IntN(4) && ctx.Err() == nil; k++ {
					rctx, rcancel := context.WithTimeout(ctx, 30*time.Second)
					var err error
					if k%2 == 0 {
						_, err = ob.SendChat(rctx, "soak message")
					} else {
						_, err = ob.RaiseHand(rctx, time.Now())
					}
					rcancel()
					atomic.AddInt64(&rep.Requests, 1)
					if err != nil && ctx.Err() == nil {
						if atomic.AddInt64(&rep.Failed, 1) <= 5 {
							logf("request failed: %v", err)
						}
					}
					sleep(ctx, time.Duration(rng.IntN(2000))*time.Millisecond)
				}
				rc, _ := ob.Stats()
				atomic.AddInt64(&rep.Reconns, int64(rc))
				_ = ob.Close()
				atomic.AddInt64(&rep.Leaves, 1)
				sleep(ctx, time.Duration(rng.IntN(1000))*time.Millisecond)
			}
		}()
	}
	wg.Wait()
	if p := peak.Load(); p != nil {
		rep.Peak = *p
	}
	// Everyone has left: wait out the reconnect grace, then measure.
	for deadline := time.Now().Add(grace + 10*time.Second); time.Now().Before(deadline); time.Sleep(200 * time.Millisecond) {
		if r, _ := h.Server.Rooms(); r == 0 {
			break
		}
	}
	time.Sleep(time.Second)
	if store != nil {
		store.Flush()
		ents, _ := os.ReadDir(store.Dir())
		rep.LogsLeft = len(ents)
	}
	rep.End = sample()
	r, np := h.Server.Rooms()
	logf("end: %v (rooms %d, participants %d, room logs left %d)", rep.End, r, np, rep.LogsLeft)
	if rep.End.FDs > rep.Start.FDs {
		logf("open fds at the end: %v", fdKinds())
	}
	logf("growth: goroutines %+d (bound %d), heap %+.1f MiB (bound %d), RSS %+.1f MiB (bound %d), fds %+d (bound %d)",
		rep.End.Goroutines-rep.Start.Goroutines, maxGoroutineGrowth, mib(rep.End.HeapInuse, rep.Start.HeapInuse), maxHeapGrowth>>20,
		mib(rep.End.RSS, rep.Start.RSS), maxRSSGrowth>>20, rep.End.FDs-rep.Start.FDs, maxFDGrowth)
	logf("%d joins (%d first joins cut and retried), %d leaves, %d reconnects by cuts, %d requests, %d failed", rep.Joins, rep.JoinFailed, rep.Leaves, rep.Reconns, rep.Requests, rep.Failed)
	if r != 0 || np != 0 {
		return rep, fmt.Errorf("%d rooms and %d participants left after everyone left", r, np)
	}
	return rep, nil
}

// fdKinds counts the open file descriptors by what they are (socket,
// pipe, anon_inode:[eventpoll], or a file's path).
func fdKinds() map[string]int {
	out := map[string]int{}
	tcp := tcpSockets()
	ents, _ := os.ReadDir("/proc/self/fd")
	for _, e := range ents {
		l, err := os.Readlink("/proc/self/fd/" + e.Name())
		if err != nil {
			continue
		}
		if k, ino, ok := strings.Cut(l, ":["); ok {
			l = k
			if k == "socket" {
				if t := tcp[strings.TrimSuffix(ino, "]")]; t != "" {
					l += " " + t
				}
			}
		}
		out[l]++
	}
	return out
}

// tcpSockets maps socket inodes to "local->remote state" from
// /proc/self/net/tcp (ports only: everything here is on loopback).
func tcpSockets() map[string]string {
	out := map[string]string{}
	b, err := os.ReadFile("/proc/self/net/tcp")
	if err != nil {
		return out
	}
	port := func(a string) string {
		_, p, _ := strings.Cut(a, ":")
		n, _ := strconv.ParseUint(p, 16, 16)
		return strconv.FormatUint(n, 10)
	}
	for _, l := range strings.Split(string(b), "\n")[1:] {
		f := strings.Fields(l)
		if len(f) < 10 {
			continue
		}
		out[f[9]] = port(f[1]) + "->" + port(f[2]) + " st" + f[3]
	}
	return out
}

func mib(a, b uint64) float64 { return (float64(a) - float64(b)) / (1 << 20) }

func sleep(ctx context.Context, d time.Duration) {
	select {
	case <-ctx.Done():
	case <-time.After(d):
	}
}

func portOf(addr string) string {
	_, p, _ := strings.Cut(addr, ":")
	return p
}
