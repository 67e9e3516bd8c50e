package sfu_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"strconv"
	"syscall"
	"testing"
	"time"

	"github.com/podiumhq/podium/internal/host"
	"github.com/podiumhq/podium/internal/testdata"
	"github.com/podiumhq/podium/media/participant"
	"github.com/podiumhq/podium/media/rtcapi"
	"github.com/podiumhq/podium/media/sfu"
	"github.com/podiumhq/podium/media/source"
	"github.com/podiumhq/podium/signaling/protocol"
	"github.com/podiumhq/podium/signaling/token"
)

const benchSecret = "sfu-bench-secret-0123456789"

// TestMain lets the benchmark re-run this binary as the load generator, so
// that the server's CPU (this process) is measured apart from the
// participants' (the child).
func TestMain(m *testing.M) {
	if url := os.Getenv("PODIUM_BENCH_LOADGEN_URL"); url != "" {
		n, _ := strconv.Atoi(os.Getenv("PODIUM_BENCH_SUBSCRIBERS"))
		os.Exit(loadgen(url, n))
	}
	os.Exit(m.Run())
}

// loadgen joins one VP8 publisher (vtest.avi at 640x480, 30 fps, 1 Mbit/s:
// about 90-100 packets/s, like the peer SFU measurements in FACTS.md) and n
// subscribers that receive without decoding.
func loadgen(url string, n int) int {
	ctx := context.Background()
	join := func(id string, video source.Video) (*participant.Participant, error) {
		tok, err := issue(id)
		if err != nil {
			return nil, err
		}
		return participant.Join(ctx, participant.Config{URL: url, Token: tok, Video: video, API: rtcapi.Options{LoopbackOnly: true}})
	}
	for i := 0; i < n; i++ {
		if _, err := join(fmt.Sprintf("sub-%d", i), nil); err != nil {
			fmt.Fprintln(os.Stderr, "loadgen:", err)
			return 1
		}
	}
	video, err := source.Open(os.Getenv("PODIUM_BENCH_VIDEO"), 640, 480, 30)
	if err != nil {
		fmt.Fprintln(os.Stderr, "loadgen:", err)
		return 1
	}
	if _, err := join("publisher", video); err != nil {
		fmt.Fprintln(os.Stderr, "loadgen:", err)
		return 1
	}
	select {} // until killed
}

func cpuTime() time.Duration {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// BenchmarkSFUForward measures the SFU's CPU time per forwarded packet with
// one real VP8 publisher and N subscribers on loopback. Participants run in
// a child process; only podiumd's process is measured. One op is one
// forwarded packet (publisher packet x subscriber); run with a fixed count,
// e.g. -benchtime=20000x.
func BenchmarkSFUForward(b *testing.B) {
	video := testdata.Require(b, "opencv/vtest.avi")
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	for _, n := range []int{1, 10, 50} {
		b.Run(fmt.Sprintf("subscribers=%d", n), func(b *testing.B) {
			h, err := host.Start(host.Config{Addr: "127.0.0.1:0", Secret: []byte(benchSecret), API: rtcapi.Options{LoopbackOnly: true}, Logger: quiet})
			if err != nil {
				b.Fatal(err)
			}
			defer h.Shutdown(context.Background())
			cmd := exec.Command(os.Args[0])
			cmd.Env = append(os.Environ(), "PODIUM_BENCH_LOADGEN_URL="+h.URL(), "PODIUM_BENCH_SUBSCRIBERS="+strconv.Itoa(n), "PODIUM_BENCH_VIDEO="+video)
			if err := cmd.Start(); err != nil {
				b.Fatal(err)
			}
			defer func() { _ = cmd.Process.Kill(); _ = cmd.Wait() }()
			// Wait for forwarding to reach steady state.
			deadline := time.Now().Add(60 * time.Second)
			for {
				if peers, tracks := h.SFU.RoomStats("bench"); peers == n+1 && tracks == 1 {
					break
				}
				if time.Now().After(deadline) {
					b.Fatal("load generator did not join in time")
				}
				time.Sleep(100 * time.Millisecond)
			}
			time.Sleep(2 * time.Second)
			p0, _ := sfu.ForwardStats()
			c0 := cpuTime()
			b.ResetTimer()
			for {
				p, _ := sfu.ForwardStats()
				if p-p0 >= uint64(b.N) {
					break
				}
				if time.Now().After(deadline.Add(5 * time.Minute)) {
					b.Fatal("forwarding stalled")
				}
				time.Sleep(20 * time.Millisecond)
			}
			b.StopTimer()
			p1, _ := sfu.ForwardStats()
			cpu := cpuTime() - c0
			b.ReportMetric(float64(cpu.Microseconds())/float64(p1-p0), "cpu-us/pkt")
		})
	}
}

func issue(id string) (string, error) {
	return token.Issuer{Secret: []byte(benchSecret)}.Issue("bench", id, id, protocol.RoleAttendee, time.Hour)
}
