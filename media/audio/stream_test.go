package audio

import (
	"math"
	"testing"

	"github.com/podiumhq/podium/internal/testdata"
)

// speechPackets encodes the first n frames of speech.wav (espeak-ng
// speech, 48 kHz) at 32 kbit/s with the given expected loss.
func speechPackets(t *testing.T, n int, loss float64) [][]byte {
	t.Helper()
	pcm, rate, err := ReadWAV(testdata.Require(t, "speech.wav"))
	if err != nil {
		t.Fatal(err)
	}
	if rate != SampleRate || len(pcm) < n*FrameSamples {
		t.Fatalf("speech.wav: %d Hz, %d samples", rate, len(pcm))
	}
	enc, err := NewEncoder(32_000)
	if err != nil {
		t.Fatal(err)
	}
	if err := enc.SetExpectedLoss(loss); err != nil {
		t.Fatal(err)
	}
	var out [][]byte
	for i := 0; i < n; i++ {
		b, err := enc.Encode(pcm[i*FrameSamples : (i+1)*FrameSamples])
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, b)
	}
	return out
}

// snr is the signal-to-noise ratio (dB) of got against ref.
func snr(ref, got []int16) float64 {
	var sig, noise float64
	for i := range ref {
		d := float64(ref[i]) - float64(got[i])
		sig += float64(ref[i]) * float64(ref[i])
		noise += d * d
	}
	return 10 * math.Log10((sig+1)/(noise+1))
}

// TestStreamFillsLoss: speech with 20 % of its packets lost (every fifth,
// plus one run of three). A Stream gives back every frame in order, the
// frame before each arriving packet from that packet's in-band FEC; the
// lost frames are much closer to a loss-free decoding than packet loss
// concealment alone makes them. An encoder not told to expect loss adds no
// FEC data, and its lost frames are all concealed.
func TestStreamFillsLoss(t *testing.T) {
	const n = 250 // 5 s
	lost := map[int]bool{}
	for i := 2; i < n; i += 5 {
		lost[i] = true
	}
	lost[100], lost[101], lost[102] = true, true, true // one run of three: two concealed, one from FEC
	run := func(pkts [][]byte, fec bool) (snrLost float64, st *Stream) {
		ref, err := NewDecoder()
		if err != nil {
			t.Fatal(err)
		}
		st, err = NewStream()
		if err != nil {
			t.Fatal(err)
		}
		var got [][]int16
		for i, p := range pkts {
			if lost[i] {
				if !fec { // concealment only: the player asks for each lost frame
					f, _ := st.dec.Decode(nil)
					got = append(got, f)
					st.last = uint16(65530 + i)
				}
				continue
			}
			fs, err := st.Decode(uint16(65530+i), p) // wraps past 65535
			if err != nil {
				t.Fatal(err)
			}
			got = append(got, fs...)
		}
		if len(got) != n {
			t.Fatalf("%d frames back for %d packets", len(got), n)
		}
		var sum float64
		var k int
		for i, p := range pkts {
			r, err := ref.Decode(p)
			if err != nil {
				t.Fatal(err)
			}
			if lost[i] {
				sum += snr(r, got[i])
				k++
			}
		}
		return sum / float64(k), st
	}
	pkts := speechPackets(t, n, 0.2)
	withFEC, st := run(pkts, true)
	plcOnly, _ := run(pkts, false)
	noLBRR, stNo := run(speechPackets(t, n, 0), true)
	t.Logf("lost frames against a loss-free decoding: FEC %.1f dB, concealment only %.1f dB, with an encoder expecting no loss %.1f dB; filled %d from FEC, %d concealed (expecting no loss: %d, %d)",
		withFEC, plcOnly, noLBRR, st.Recovered, st.Concealed, stNo.Recovered, stNo.Concealed)
	gaps := len(lost) - 2 // the run of three is one gap
	if st.Recovered < gaps/2 || st.Recovered+st.Concealed != len(lost) {
		t.Errorf("filled %d frames from FEC and concealed %d, want all %d lost filled, at least %d from FEC", st.Recovered, st.Concealed, len(lost), gaps/2)
	}
	if stNo.Recovered != 0 || stNo.Concealed != len(lost) {
		t.Errorf("an encoder expecting no loss adds no FEC, yet %d frames were filled from it (%d concealed)", stNo.Recovered, stNo.Concealed)
	}
	if withFEC < plcOnly+3 {
		t.Errorf("FEC made the lost frames %.1f dB, concealment alone %.1f dB: want at least 3 dB better", withFEC, plcOnly)
	}
	if withFEC < noLBRR+3 {
		t.Errorf("with the expected loss set, FEC gave %.1f dB; without it %.1f dB: want at least 3 dB better", withFEC, noLBRR)
	}
}

// TestStreamLateAndLongGaps: a packet older than the newest decoded, or a
// repeat, is dropped; a gap longer than maxConceal is not filled.
func TestStreamLateAndLongGaps(t *testing.T) {
	pkts := speechPackets(t, 20, 0.1)
	st, err := NewStream()
	if err != nil {
		t.Fatal(err)
	}
	frames := func(seq uint16, i int) int {
		fs, err := st.Decode(seq, pkts[i])
		if err != nil {
			t.Fatal(err)
		}
		return len(fs)
	}
	if got := frames(10, 0); got != 1 {
		t.Fatalf("first packet: %d frames", got)
	}
	if got := frames(12, 2); got != 2 {
		t.Fatalf("after one lost: %d frames, want 2", got)
	}
	if got := frames(11, 1); got != 0 || st.Late != 1 {
		t.Fatalf("the late packet gave %d frames (late %d), want none", got, st.Late)
	}
	if got := frames(12, 2); got != 0 || st.Late != 2 {
		t.Fatalf("a repeat gave %d frames (late %d), want none", got, st.Late)
	}
	if got := frames(12+maxConceal+2, 3); got != 1 {
		t.Fatalf("after a gap of %d: %d frames, want the packet's own only", maxConceal+1, got)
	}
}

// TestHasLBRR: the LBRR flag read from a packet says whether libopus
// decodes its FEC as something other than concealment: packets from an
// encoder expecting no loss carry none; with loss expected, the flag
// matches libopus's own FEC decoding packet by packet.
func TestHasLBRR(t *testing.T) {
	for _, p := range speechPackets(t, 100, 0) {
		if hasLBRR(p) {
			t.Fatal("a packet from an encoder expecting no loss flags FEC")
		}
	}
	pkts := speechPackets(t, 130, 0.2)
	flagged := 0
	for j := 20; j < 129; j++ {
		a, _ := NewDecoder()
		b, _ := NewDecoder()
		for i := 0; i < j; i++ {
			_, _ = a.Decode(pkts[i])
			_, _ = b.Decode(pkts[i])
		}
		fec, err := a.decodeFEC(pkts[j+1])
		if err != nil {
			t.Fatal(err)
		}
		plc, _ := b.Decode(nil)
		differs := false
		for k := range fec {
			differs = differs || fec[k] != plc[k]
		}
		if differs != hasLBRR(pkts[j+1]) {
			t.Fatalf("packet %d: flag %v, but libopus's FEC differs from concealment: %v", j+1, hasLBRR(pkts[j+1]), differs)
		}
		if differs {
			flagged++
		}
	}
	if flagged < 30 {
		t.Fatalf("only %d of 109 speech packets carry FEC at 20 %% expected loss", flagged)
	}
}
