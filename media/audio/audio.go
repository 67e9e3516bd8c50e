// Package audio reads and generates PCM audio and codes it with Opus
// (RFC 6716) for Podium's calls: 48 kHz mono, 20 ms frames (960 samples).
package audio

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"time"

	"gopkg.in/hraban/opus.v2"
)

// SampleRate is Podium's audio rate (Hz); FrameSamples is one 20 ms frame.
const (
	SampleRate    = 48000
	FrameSamples  = SampleRate / 50
	FrameDuration = 20 * time.Millisecond
)

// Source yields 20 ms mono frames (FrameSamples int16 samples at 48 kHz).
type Source interface {
	ReadFrame() ([]int16, error)
	Close() error
}

// ReadWAV reads a 16-bit PCM WAV file and returns its samples as mono
// (channels averaged) and the sample rate in Hz.
func ReadWAV(path string) ([]int16, int, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, 0, err
	}
	defer f.Close()
	var hdr [12]byte
	if _, err := io.ReadFull(f, hdr[:]); err != nil || string(hdr[0:4]) != "RIFF" || string(hdr[8:12]) != "WAVE" {
		return nil, 0, fmt.Errorf("audio: %s is not a RIFF/WAVE file", path)
	}
	var rate, channels, bits int
	for {
		var ch [8]byte
		if _, err := io.ReadFull(f, ch[:]); err != nil {
			return nil, 0, fmt.Errorf("audio: %s: no data chunk", path)
		}
		size := int64(binary.LittleEndian.Uint32(ch[4:]))
		switch string(ch[0:4]) {
		case "fmt ":
			b := make([]byte, size)
			if _, err := io.ReadFull(f, b); err != nil || size < 16 {
				return nil, 0, fmt.Errorf("audio: %s: bad fmt chunk", path)
			}
			if binary.LittleEndian.Uint16(b[0:]) != 1 {
				return nil, 0, fmt.Errorf("audio: %s: only PCM WAV is supported", path)
			}
			channels = int(binary.LittleEndian.Uint16(b[2:]))
			rate = int(binary.LittleEndian.Uint32(b[4:]))
			bits = int(binary.LittleEndian.Uint16(b[14:]))
		case "data":
			if bits != 16 || channels < 1 {
				return nil, 0, fmt.Errorf("audio: %s: need 16-bit PCM, got %d bits, %d channels", path, bits, channels)
			}
			if size > 1<<30 {
				return nil, 0, errors.New("audio: WAV data too large")
			}
			raw := make([]byte, size)
			n, _ := io.ReadFull(f, raw)
			raw = raw[:n-n%(2*channels)]
			out := make([]int16, len(raw)/(2*channels))
			for i := range out {
				var sum int
				for c := 0; c < channels; c++ {
					sum += int(int16(binary.LittleEndian.Uint16(raw[(i*channels+c)*2:])))
				}
				out[i] = int16(sum / channels)
			}
			return out, rate, nil
		default:
			if _, err := f.Seek(size+size%2, io.SeekCurrent); err != nil {
				return nil, 0, err
			}
		}
	}
}

// WAV plays a 48 kHz WAV file in real time, looping after a second of
// silence.
type WAV struct {
	samples []int16
	pos     int
	next    time.Time
}

// NewWAV loads path; it must be 16-bit PCM at 48 kHz.
func NewWAV(path string) (*WAV, error) {
	s, rate, err := ReadWAV(path)
	if err != nil {
		return nil, err
	}
	if rate != SampleRate {
		return nil, fmt.Errorf("audio: %s is %d Hz; convert it to 48000 Hz (sox in.wav -r 48000 out.wav)", path, rate)
	}
	s = append(s, make([]int16, SampleRate)...)
	return &WAV{samples: s}, nil
}

func pace(next *time.Time) {
	now := time.Now()
	if next.IsZero() || now.Sub(*next) > 200*time.Millisecond {
		*next = now
	}
	if d := next.Sub(now); d > 0 {
		time.Sleep(d)
	}
	*next = next.Add(FrameDuration)
}

// ReadFrame implements Source.
func (w *WAV) ReadFrame() ([]int16, error) {
	pace(&w.next)
	out := make([]int16, FrameSamples)
	for i := range out {
		out[i] = w.samples[w.pos]
		w.pos = (w.pos + 1) % len(w.samples)
	}
	return out, nil
}

// Close implements Source.
func (w *WAV) Close() error { return nil }

// Tone is a test tone (like mediadevices' audiotest): Hz sine at amplitude
// Amp (0..1 of full scale).
type Tone struct {
	Hz, Amp float64
	n       int
	next    time.Time
}

// ReadFrame implements Source.
func (t *Tone) ReadFrame() ([]int16, error) {
	pace(&t.next)
	out := make([]int16, FrameSamples)
	for i := range out {
		out[i] = int16(t.Amp * 32767 * math.Sin(2*math.Pi*t.Hz*float64(t.n)/SampleRate))
		t.n++
	}
	return out, nil
}

// Close implements Source.
func (t *Tone) Close() error { return nil }

// Encoder codes 20 ms mono frames as Opus (application VoIP).
type Encoder struct {
	enc *opus.Encoder
	buf []byte
}

// NewEncoder returns an Opus encoder at bitrate bit/s.
func NewEncoder(bitrate int) (*Encoder, error) {
	e, err := opus.NewEncoder(SampleRate, 1, opus.AppVoIP)
	if err != nil {
		return nil, err
	}
	if bitrate > 0 {
		if err := e.SetBitrate(bitrate); err != nil {
			return nil, err
		}
	}
	_ = e.SetInBandFEC(true)
	return &Encoder{enc: e, buf: make([]byte, 4000)}, nil
}

// SetExpectedLoss tells the encoder the share of packets the receiver
// loses (0 to 1, from RTCP receiver reports). In-band FEC is on, but
// libopus adds its redundant copy of each frame (LBRR) only while the
// expected loss is above zero, and makes it stronger as the loss grows
// (OPUS_SET_PACKET_LOSS_PERC). Capped at 30 %.
func (e *Encoder) SetExpectedLoss(frac float64) error {
	return e.enc.SetPacketLossPerc(int(math.Round(min(max(frac, 0), 0.3) * 100)))
}

// Encode codes one frame of FrameSamples samples; the result is a new slice.
func (e *Encoder) Encode(pcm []int16) ([]byte, error) {
	n, err := e.enc.Encode(pcm, e.buf)
	if err != nil {
		return nil, err
	}
	return append([]byte(nil), e.buf[:n]...), nil
}

// Decoder decodes Opus packets to 48 kHz mono PCM.
type Decoder struct {
	dec *opus.Decoder
	buf []int16
}

// NewDecoder returns an Opus decoder.
func NewDecoder() (*Decoder, error) {
	d, err := opus.NewDecoder(SampleRate, 1)
	if err != nil {
		return nil, err
	}
	return &Decoder{dec: d, buf: make([]int16, SampleRate/10*6)}, nil
}

// Decode decodes one packet; nil data conceals a lost 20 ms frame.
func (d *Decoder) Decode(data []byte) ([]int16, error) {
	if data == nil {
		// hraban/opus passes the slice's capacity as the frame size:
		// a full slice expression keeps it at one frame.
		if err := d.dec.DecodePLC(d.buf[:FrameSamples:FrameSamples]); err != nil {
			return nil, err
		}
		return append([]int16(nil), d.buf[:FrameSamples]...), nil
	}
	n, err := d.dec.Decode(data, d.buf)
	if err != nil {
		return nil, err
	}
	return append([]int16(nil), d.buf[:n]...), nil
}

// decodeFEC decodes the frame before data from data's in-band FEC (a
// FrameSamples frame). Where data carries none (hasLBRR), libopus
// conceals the frame instead and reports no error.
func (d *Decoder) decodeFEC(data []byte) ([]int16, error) {
	if err := d.dec.DecodeFEC(data, d.buf[:FrameSamples:FrameSamples]); err != nil { // capacity: see Decode
		return nil, err
	}
	return append([]int16(nil), d.buf[:FrameSamples]...), nil
}

// LevelDBov returns the frame's RMS level in dBov (0 is full scale, -127 is
// silence), as RFC 6464 defines it for the audio-level header extension.
func LevelDBov(pcm []int16) float64 {
	if len(pcm) == 0 {
		return -127
	}
	var sum float64
	for _, s := range pcm {
		v := float64(s) / 32768
		sum += v * v
	}
	rms := math.Sqrt(sum / float64(len(pcm)))
	if rms <= 0 {
		return -127
	}
	return math.Max(-127, 20*math.Log10(rms))
}
