// Command podium-load measures the hand-raise queue at webinar scale: it
// starts a podiumd (host.Start) in a separate process on loopback, joins 2
// presenters and N signaling-only attendees (default 5,000; no media, zero
// publish slots) to a webinar, has every attendee raise a hand at a random
// moment within one second, and reports:
//
//   - raise-to-presenter-view latency, p50 and p99 (ms): from the attendee's
//     send to the presenter's receipt of the delta with that hand;
//
//   - messages and bytes the server queued per raise (its
//     podium_signaling_sent_* counters), against presenters + 1;
//
//   - server CPU (process_cpu_seconds_total over the raise phase);
//
//   - server memory per idle connection (resident set growth over the joins,
//     divided by the connections).
//
//     podium-load [-attendees 5000] [-presenters 2] [-window 1s] [-json]
package main

import (
	"bufio"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"os"
	"os/exec"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/podiumhq/podium/internal/host"
	"github.com/podiumhq/podium/media/rtcapi"
	"github.com/podiumhq/podium/signaling/client"
	"github.com/podiumhq/podium/signaling/protocol"
	"github.com/podiumhq/podium/signaling/token"
)

const secretEnv = "PODIUM_LOAD_SECRET"

func main() {
	serve := flag.Bool("serve", false, "internal: run the server process")
	attendees := flag.Int("attendees", 5000, "simulated attendees")
	presenters := flag.Int("presenters", 2, "presenters (the first is the host)")
	window := flag.Duration("window", time.Second, "all raises happen within this window")
	asJSON := flag.Bool("json", false, "print the report as JSON")
	flag.Parse()
	raiseFileLimit()
	if *serve {
		if err := runServer(); err != nil {
			fmt.Fprintln(os.Stderr, "podium-load server:", err)
			os.Exit(1)
		}
		return
	}
	r, err := run(*attendees, *presenters, *window)
	if err != nil {
		fmt.Fprintln(os.Stderr, "podium-load:", err)
		os.Exit(1)
	}
	if *asJSON {
		b, _ := json.MarshalIndent(r, "", "  ")
		fmt.Println(string(b))
		return
	}
	r.print(os.Stdout)
}

// raiseFileLimit lifts the soft open-files limit to the hard one (each
// process holds one socket per connection).
func raiseFileLimit() {
	var l syscall.Rlimit
	if syscall.Getrlimit(syscall.RLIMIT_NOFILE, &l) == nil && l.Cur < l.Max {
		l.Cur = l.Max
		_ = syscall.Setrlimit(syscall.RLIMIT_NOFILE, &l)
	}
}

func runServer() error {
	h, err := host.Start(host.Config{Addr: "127.0.0.1:0", Secret: []byte(os.Getenv(secretEnv)), API: rtcapi.Options{LoopbackOnly: true},
		Logger: slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelError})), MaxParticipants: 100_000})
	if err != nil {
		return err
	}
	fmt.Println("ADDR", h.Addr())
	_, _ = io.Copy(io.Discard, os.Stdin) // until the driver exits
	return h.Shutdown(context.Background())
}

// Report holds the measured figures.
type Report struct {
	Attendees, Presenters int
	RaisesSeen            int     // hands both presenters saw
	P50Ms, P99Ms, MaxMs   float64 // raise to presenter view
	MsgsPerRaise          float64 // server messages queued per raise
	BytesPerRaise         float64
	PresenterMsgsPerRaise float64 // of which to presenters
	CPUSeconds            float64 // server CPU over the raise phase
	RaisePhaseSeconds     float64
	KiBPerConn            float64 // server RSS growth per idle connection
	HeapKiBPerConn        float64 // Go heap growth per idle connection
	JoinSeconds           float64
	// AttendeeMsgs counts what the attendees received in the raise phase,
	// by type: an ack per raise, hand-position only when a place changed,
	// hand-count at most once per second per attendee (time-based, not per
	// raise).
	AttendeeMsgs map[string]int64
}

func (r Report) print(w io.Writer) {
	fmt.Fprintf(w, "podium-load: %d attendees + %d presenters, webinar, signaling only, loopback, server in its own process\n", r.Attendees, r.Presenters)
	fmt.Fprintf(w, "  joins:                    %.1f s\n", r.JoinSeconds)
	fmt.Fprintf(w, "  raise -> presenter view:  p50 %.1f ms, p99 %.1f ms, max %.1f ms (%d hands seen by every presenter)\n", r.P50Ms, r.P99Ms, r.MaxMs, r.RaisesSeen)
	fmt.Fprintf(w, "  server messages per raise: %.2f (presenters + 1 = %d; %.2f to presenters), %.0f bytes per raise\n", r.MsgsPerRaise, r.Presenters+1, r.PresenterMsgsPerRaise, r.BytesPerRaise)
	fmt.Fprintf(w, "  attendees received:       %d acks, %d hand-position, %d hand-count (at most 1/s each), %d in all\n",
		r.AttendeeMsgs["ack"], r.AttendeeMsgs["hand-position"], r.AttendeeMsgs["hand-count"], r.AttendeeMsgs["all"])
	fmt.Fprintf(w, "  server CPU:               %.2f s over a %.2f s raise phase (%.0f%% of one core)\n", r.CPUSeconds, r.RaisePhaseSeconds, 100*r.CPUSeconds/r.RaisePhaseSeconds)
	fmt.Fprintf(w, "  memory per idle connection: %.1f KiB resident (%.1f KiB Go heap)\n", r.KiBPerConn, r.HeapKiBPerConn)
}

type metrics map[string]float64

func scrape(addr string) (metrics, error) {
	resp, err := http.Get("http://" + addr + "/metrics")
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	m := metrics{}
	sc := bufio.NewScanner(resp.Body)
	for sc.Scan() {
		line := sc.Text()
		if strings.HasPrefix(line, "#") {
			continue
		}
		f := strings.Fields(line)
		if len(f) == 2 {
			if v, err := strconv.ParseFloat(f[1], 64); err == nil {
				m[f[0]] = v
			}
		}
	}
	return m, sc.Err()
}

func percentile(sorted []float64, p float64) float64 {
	if len(sorted) == 0 {
		return 0
	}
	i := int(p * float64(len(sorted)-1))
	return sorted[i]
}

func run(nAtt, nPres int, window time.Duration) (Report, error) {
	r := Report{Attendees: nAtt, Presenters: nPres}
	secret := fmt.Sprintf("load-secret-%d-0123456789", rand.Int64())
	self, err := os.Executable()
	if err != nil {
		return r, err
	}
	cmd := exec.Command(self, "-serve")
	cmd.Env = append(os.Environ(), secretEnv+"="+secret)
	cmd.Stderr = os.Stderr
	stdin, _ := cmd.StdinPipe()
	stdout, _ := cmd.StdoutPipe()
	if err := cmd.Start(); err != nil {
		return r, err
	}
	defer func() { _ = stdin.Close(); _ = cmd.Wait() }()
	var addr string
	sc := bufio.NewScanner(stdout)
	for sc.Scan() {
		if a, ok := strings.CutPrefix(sc.Text(), "ADDR "); ok {
			addr = a
			break
		}
	}
	if addr == "" {
		return r, fmt.Errorf("server did not start")
	}
	url := "ws://" + addr + "/ws"
	tokens := token.Issuer{Secret: []byte(secret)}
	ctx := context.Background()

	joinOne := func(id string, role protocol.Role) (*client.Client, error) {
		tk, err := tokens.Issue("webinar", id, id, role, time.Hour)
		if err != nil {
			return nil, err
		}
		c, err := client.Dial(ctx, url)
		if err != nil {
			return nil, err
		}
		if _, err := c.Send(ctx, protocol.TypeJoin, protocol.JoinBody{Token: tk, SignalingOnly: true, ClientTimeMs: time.Now().UnixMilli()}); err != nil {
			return nil, err
		}
		for env := range c.Messages() {
			switch env.Type {
			case protocol.TypeJoined:
				return c, nil
			case protocol.TypeError:
				return nil, fmt.Errorf("join %s: %s", id, env.Body)
			}
		}
		return nil, fmt.Errorf("join %s: connection closed: %v", id, c.Err())
	}

	// Presenters: they record when each hand reaches them.
	sendAt := make([]atomic.Int64, nAtt) // unix ns of each attendee's raise
	type seen struct {
		mu   sync.Mutex
		lat  []float64
		got  map[string]bool
		msgs int
	}
	views := make([]*seen, nPres)
	var presClients []*client.Client
	for i := 0; i < nPres; i++ {
		role := protocol.RolePresenter
		if i == 0 {
			role = protocol.RoleHost
		}
		c, err := joinOne(fmt.Sprintf("presenter-%d", i), role)
		if err != nil {
			return r, err
		}
		if i == 0 {
			if _, err := c.Send(ctx, protocol.TypeRoomMode, protocol.ModeBody{Mode: protocol.ModeWebinar}); err != nil {
				return r, err
			}
		}
		presClients = append(presClients, c)
		v := &seen{got: map[string]bool{}}
		views[i] = v
		go func() {
			for env := range c.Messages() {
				if env.Type != protocol.TypeHands {
					continue
				}
				now := time.Now().UnixNano()
				var b protocol.HandsBody
				if json.Unmarshal(env.Body, &b) != nil {
					continue
				}
				v.mu.Lock()
				v.msgs++
				for _, h := range b.Hands {
					if !h.Raised || v.got[h.ID] {
						continue
					}
					n, err := strconv.Atoi(strings.TrimPrefix(h.ID, "att-"))
					if err != nil || n < 0 || n >= nAtt {
						continue
					}
					v.got[h.ID] = true
					if t0 := sendAt[n].Load(); t0 != 0 {
						v.lat = append(v.lat, float64(now-t0)/1e6)
					}
				}
				v.mu.Unlock()
			}
		}()
	}
	time.Sleep(300 * time.Millisecond)
	before, err := scrape(addr)
	if err != nil {
		return r, err
	}

	// Attendees join, 100 at a time.
	t0 := time.Now()
	atts := make([]*client.Client, nAtt)
	var attMsgs, attAcks, attPos, attCount atomic.Int64
	sem := make(chan struct{}, 100)
	var wg sync.WaitGroup
	var joinErr atomic.Value
	for i := 0; i < nAtt; i++ {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			c, err := joinOne(fmt.Sprintf("att-%d", i), protocol.RoleAttendee)
			if err != nil {
				joinErr.Store(err)
				return
			}
			atts[i] = c
			go func() {
				for env := range c.Messages() {
					attMsgs.Add(1)
					switch env.Type {
					case protocol.TypeAck:
						attAcks.Add(1)
					case protocol.TypeHandPosition:
						attPos.Add(1)
					case protocol.TypeHandCount:
						attCount.Add(1)
					}
				}
			}()
		}()
	}
	wg.Wait()
	if e, ok := joinErr.Load().(error); ok {
		return r, e
	}
	r.JoinSeconds = time.Since(t0).Seconds()
	time.Sleep(2 * time.Second) // idle
	idle, err := scrape(addr)
	if err != nil {
		return r, err
	}
	conns := float64(nAtt)
	r.KiBPerConn = (idle["process_resident_memory_bytes"] - before["process_resident_memory_bytes"]) / conns / 1024
	r.HeapKiBPerConn = (idle["go_memstats_heap_inuse_bytes"] + idle["go_memstats_stack_inuse_bytes"] - before["go_memstats_heap_inuse_bytes"] - before["go_memstats_stack_inuse_bytes"]) / conns / 1024

	// Raise phase: every attendee raises at a random moment in the window.
	attMsgs.Store(0)
	attAcks.Store(0)
	attPos.Store(0)
	attCount.Store(0)
	start := time.Now()
	for i, c := range atts {
		wg.Add(1)
		go func() {
			defer wg.Done()
			time.Sleep(time.Duration(rand.Int64N(int64(window))))
			now := time.Now()
			sendAt[i].Store(now.UnixNano())
			_, _ = c.Send(ctx, protocol.TypeHandRaise, protocol.HandBody{ClickTimeMs: now.UnixMilli()})
		}()
	}
	wg.Wait()
	deadline := time.Now().Add(60 * time.Second)
	for {
		done := true
		for _, v := range views {
			v.mu.Lock()
			if len(v.got) < nAtt {
				done = false
			}
			v.mu.Unlock()
		}
		if done || time.Now().After(deadline) {
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	r.RaisePhaseSeconds = time.Since(start).Seconds()
	time.Sleep(1500 * time.Millisecond) // coalesced position/count updates
	after, err := scrape(addr)
	if err != nil {
		return r, err
	}
	r.CPUSeconds = after["process_cpu_seconds_total"] - idle["process_cpu_seconds_total"]
	r.MsgsPerRaise = (after["podium_signaling_sent_messages_total"] - idle["podium_signaling_sent_messages_total"]) / conns
	r.BytesPerRaise = (after["podium_signaling_sent_bytes_total"] - idle["podium_signaling_sent_bytes_total"]) / conns
	var lat []float64
	r.RaisesSeen = nAtt
	presMsgs := 0
	for _, v := range views {
		v.mu.Lock()
		lat = append(lat, v.lat...)
		r.RaisesSeen = min(r.RaisesSeen, len(v.got))
		presMsgs += v.msgs
		v.mu.Unlock()
	}
	r.PresenterMsgsPerRaise = float64(presMsgs) / conns
	r.AttendeeMsgs = map[string]int64{"ack": attAcks.Load(), "hand-position": attPos.Load(), "hand-count": attCount.Load(), "all": attMsgs.Load()}
	sort.Float64s(lat)
	r.P50Ms, r.P99Ms = percentile(lat, 0.5), percentile(lat, 0.99)
	if len(lat) > 0 {
		r.MaxMs = lat[len(lat)-1]
	}
	for _, c := range append(atts, presClients...) {
		if c != nil {
			_ = c.Close()
		}
	}
	return r, nil
}
