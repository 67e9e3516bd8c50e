package impairtest

import (
	"context"
	"math/rand/v2"
	"net"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/pion/transport/v5/vnet"

	"github.com/podiumhq/podium/internal/testdata"
	"github.com/podiumhq/podium/media/audio"
	"github.com/podiumhq/podium/media/participant"
)

// TestImpairAudioFEC: 15 % of the UDP packets on one link are lost (over
// pion's vnet, at random) while the publisher sends speech: its uplink,
// then, in a second run, the subscriber's downlink. Receiver reports tell
// the publisher's Opus encoder to expect that loss (for the downlink, the
// SFU proxies the subscriber's reports to it), so it adds in-band FEC; the
// subscriber fills each lost frame, from the next packet's FEC where it
// carries some and otherwise by concealment, so its player gets a frame
// for every 20 ms. (media/audio's TestStreamFillsLoss measures what FEC
// gives back over concealment: about 8 dB on speech.)
func TestImpairAudioFEC(t *testing.T) {
	if testing.Short() {
		t.Skip("20 s of media")
	}
	for _, link := range []string{"uplink", "downlink"} {
		t.Run(link, func(t *testing.T) { audioFEC(t, link) })
	}
}

func audioFEC(t *testing.T, link string) {
	sfuIP, pubIP, subIP := net.ParseIP("10.79.0.1"), net.ParseIP("10.79.0.2"), net.ParseIP("10.79.0.3")
	var mu sync.Mutex
	rng := rand.New(rand.NewPCG(1, 2))
	drop := func(c vnet.Chunk) bool {
		src, _ := c.SourceAddr().(*net.UDPAddr)
		dst, _ := c.DestinationAddr().(*net.UDPAddr)
		lossy := src != nil && src.IP.Equal(pubIP) // the publisher's uplink
		if link == "downlink" {
			lossy = src != nil && dst != nil && src.IP.Equal(sfuIP) && dst.IP.Equal(subIP)
		}
		if !lossy {
			return true
		}
		mu.Lock()
		defer mu.Unlock()
		return rng.Float64() >= 0.15
	}
	lab := newVNetLab(t, "10.79.0.0/24", 0, 0, drop, nil, sfuIP.String(), pubIP.String(), subIP.String())
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	speech, err := audio.NewWAV(testdata.Require(t, "speech.wav")) // SILK codes speech; FEC rides on SILK
	if err != nil {
		t.Fatal(err)
	}
	pub, err := participant.Join(ctx, participant.Config{URL: lab.h.URL(), Token: lab.token(t, "pub"),
		Audio: speech, API: lab.api(pubIP.String())})
	if err != nil {
		t.Fatal(err)
	}
	defer pub.Close()
	var played atomic.Int64
	sub, err := participant.Join(ctx, participant.Config{URL: lab.h.URL(), Token: lab.token(t, "sub"), API: lab.api(subIP.String()),
		OnAudio: func(string, []int16) { played.Add(1) }})
	if err != nil {
		t.Fatal(err)
	}
	defer sub.Close()
	time.Sleep(10 * time.Second)
	var st participant.TrackStats
	for _, ts := range sub.Stats() {
		if ts.From == "pub" && ts.Kind == "audio" {
			st = ts
		}
	}
	expect := pub.Sent().AudioExpectedLoss
	t.Logf("RESULT audio at 15 %% loss on the %s: %d packets received, %d lost; %d frames filled from FEC, %d concealed; %d frames played; the encoder expects %.0f %% loss",
		link, st.Packets, st.PacketsLost, st.FECRecovered, st.Concealed, played.Load(), 100*expect)
	if expect < 0.05 || expect > 0.3 {
		t.Errorf("the publisher's encoder expects %.0f %% loss, want about 15 %%", 100*expect)
	}
	if st.PacketsLost < 20 {
		t.Fatalf("only %d packets lost: the loss did not reach the subscriber", st.PacketsLost)
	}
	if filled := int64(st.FECRecovered + st.Concealed); filled < st.PacketsLost*8/10 {
		t.Errorf("%d of %d lost frames filled, want at least 80 %%", filled, st.PacketsLost)
	}
	// Without the loss reaching the encoder there is no FEC at all (an
	// encoder expecting no loss adds none: media/audio's tests). Here
	// about half the lost frames come from FEC: speech carries none in
	// its pauses (a quarter of speech.wav's packets), the source adds a
	// second of silence before it loops, the first receiver report comes
	// after about a second, and a frame is filled from FEC only when the
	// packet after it arrives.
	if int64(st.FECRecovered) < st.PacketsLost/4 {
		t.Errorf("%d of %d lost frames filled from FEC (%d concealed): want at least a quarter", st.FECRecovered, st.PacketsLost, st.Concealed)
	}
	if got, want := int(played.Load()), st.Packets+st.FECRecovered+st.Concealed; got < want-2 || got > want+2 {
		t.Errorf("%d frames played, want one per packet received plus one per frame filled (%d)", got, want)
	}
}
