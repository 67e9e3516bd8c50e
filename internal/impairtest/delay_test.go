package impairtest

import (
	"context"
	"log/slog"
	"testing"
	"time"

	"github.com/podiumhq/podium/internal/testdata"
	"github.com/podiumhq/podium/media/audio"
	"github.com/podiumhq/podium/media/participant"
	"github.com/podiumhq/podium/media/source"
)

// TestImpairDelayJitter: every media packet (ICE, RTP, RTCP) between the
// publisher, the SFU and the subscriber crosses pion's virtual network
// (vnet, in-process; this kernel has no netem) whose router holds each
// packet 70 ms plus a uniform 0-60 ms: 100 ms +- 30 ms one way, about
// 200 ms round trip, with reordering where the jitter allows. Signaling
// stays on loopback TCP. The adaptive publisher keeps video (delay alone
// is not congestion), audio never stops, and the subscriber's statistics
// show the round trip and the jitter.
func TestImpairDelayJitter(t *testing.T) {
	if testing.Short() {
		t.Skip("25 s of media")
	}
	quiet := slog.New(slog.DiscardHandler)
	lab := newVNetLab(t, "10.77.0.0/24", 70*time.Millisecond, 60*time.Millisecond, nil, quiet, "10.77.0.1", "10.77.0.2", "10.77.0.3")
	h := lab.h
	vid, err := source.Open(testdata.Require(t, "opencv/messi5.jpg"), 640, 480, 30)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	pub, err := participant.Join(ctx, participant.Config{URL: h.URL(), Token: lab.token(t, "pub"), Video: vid, Audio: &audio.Tone{Hz: 440, Amp: 0.3},
		VideoBitrate: 1_000_000, Adaptive: true, API: lab.api("10.77.0.2"), Logger: quiet})
	if err != nil {
		t.Fatal(err)
	}
	defer pub.Close()
	sub, err := participant.Join(ctx, participant.Config{URL: h.URL(), Token: lab.token(t, "sub"), API: lab.api("10.77.0.3"), Logger: quiet})
	if err != nil {
		t.Fatal(err)
	}
	defer sub.Close()

	type sample struct {
		at                       time.Duration
		apkts                    int
		vfps, vkbps, jitter, rtt float64
		level, reason, rung      string
		sent                     int
	}
	var samples []sample
	start := time.Now()
	for time.Since(start) < 22*time.Second {
		time.Sleep(500 * time.Millisecond)
		s := sample{at: time.Since(start)}
		au, v := fromPub(sub)
		s.apkts = au.Packets
		s.vfps, s.vkbps, s.jitter, s.rtt, s.level, s.reason = v.FPS, v.BitrateKbps, v.JitterMs, v.RTTMs, v.Level, v.Reason
		a := pub.Adaptation()
		s.rung, s.sent = a.Decision.Rung.String(), a.SentBitrate
		samples = append(samples, s)
		t.Logf("t=%4.1fs sub: %2.0f fps %4.0f kbit/s jitter %5.1f ms rtt %5.0f ms %s %s | pub: %s %d kbit/s",
			s.at.Seconds(), s.vfps, s.vkbps, s.jitter, s.rtt, s.level, s.reason, s.rung, s.sent/1000)
	}
	// Judge the last 12 s (the first 10 s are ICE, DTLS and ramp-up over
	// a 200 ms round trip).
	var fps, jit, rtt float64
	n := 0
	for i, s := range samples {
		if s.at < 10*time.Second {
			continue
		}
		if i >= 3 && s.apkts == samples[i-3].apkts {
			t.Errorf("audio stalled around t=%.1fs", s.at.Seconds())
		}
		if s.rung == "audio-only" {
			t.Errorf("t=%.1fs: the publisher went audio only on a delayed but uncongested link", s.at.Seconds())
		}
		fps += s.vfps
		jit += s.jitter
		rtt = max(rtt, s.rtt)
		n++
	}
	fps, jit = fps/float64(n), jit/float64(n)
	t.Logf("RESULT delay 100+-30 ms (vnet): subscriber %.1f fps, jitter %.1f ms, RTT up to %.0f ms; publisher ends on %s at %d kbit/s",
		fps, jit, rtt, samples[len(samples)-1].rung, samples[len(samples)-1].sent/1000)
	if fps < 10 {
		t.Errorf("video at the subscriber %.1f fps, want at least 10", fps)
	}
	if jit < 5 {
		t.Errorf("reported jitter %.1f ms: the 0-60 ms jitter does not show", jit)
	}
	if rtt < 150 {
		t.Errorf("reported RTT %.0f ms, want about 200 (2 x 100 ms)", rtt)
	}
}
