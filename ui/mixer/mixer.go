// Package mixer mixes the decoded audio of every remote participant into
// one 48 kHz mono stream, 20 ms at a time, and measures each participant's
// level for the level meters, the muted badge and the active-speaker
// highlight. It knows nothing of RTP or the UI.
package mixer

import (
	"context"
	"math"
	"sync"
	"time"

	"github.com/podiumhq/podium/media/audio"
)

const (
	// Prefill is how much audio a participant's queue holds before it is
	// mixed (absorbs arrival jitter).
	Prefill = 3 * audio.FrameSamples
	// MaxQueue bounds a queue; older audio is dropped beyond it.
	MaxQueue = 10 * audio.FrameSamples
	// SpeakingDB is the level above which a participant counts as speaking.
	SpeakingDB = -45.0
	// SilenceDB is the level below which audio counts as digital silence
	// (what a muted microphone sends).
	SilenceDB = -80.0
	// MutedAfter is how long silence or no audio lasts before "muted".
	MutedAfter = time.Second
	// SpeakerHold keeps the active speaker for at least this long.
	SpeakerHold = 800 * time.Millisecond
)

type stream struct {
	q          []int16
	primed     bool
	levelDB    float64 // smoothed: fast attack, slow release
	lastAudio  time.Time
	lastSound  time.Time
	mixedTotal int
}

// Level is one participant's audio state.
type Level struct {
	DB       float64
	Muted    bool
	Speaking bool
}

// Mixer is safe for concurrent use.
type Mixer struct {
	mu       sync.Mutex
	streams  map[string]*stream
	now      func() time.Time
	speaker  string
	speakerT time.Time
}

// New returns an empty mixer.
func New() *Mixer { return &Mixer{streams: map[string]*stream{}, now: time.Now} }

// Push adds decoded audio from a participant.
func (m *Mixer) Push(from string, pcm []int16) {
	lv := audio.LevelDBov(pcm)
	m.mu.Lock()
	defer m.mu.Unlock()
	s := m.streams[from]
	if s == nil {
		s = &stream{levelDB: -127}
		m.streams[from] = s
	}
	now := m.now()
	s.lastAudio = now
	if lv > SilenceDB {
		s.lastSound = now
	}
	if lv > s.levelDB {
		s.levelDB = lv
	} else {
		s.levelDB = math.Max(lv, s.levelDB-3) // release 3 dB per 20 ms frame
	}
	s.q = append(s.q, pcm...)
	if over := len(s.q) - MaxQueue; over > 0 {
		s.q = append(s.q[:0], s.q[over:]...)
	}
}

// Remove forgets a participant.
func (m *Mixer) Remove(from string) {
	m.mu.Lock()
	delete(m.streams, from)
	m.mu.Unlock()
}

// Mix returns the next n samples, the sum of every primed queue (clipped).
func (m *Mixer) Mix(n int) []int16 {
	acc := make([]int32, n)
	m.mu.Lock()
	for _, s := range m.streams {
		if !s.primed {
			if len(s.q) < Prefill {
				continue
			}
			s.primed = true
		}
		k := min(n, len(s.q))
		for i := 0; i < k; i++ {
			acc[i] += int32(s.q[i])
		}
		s.q = append(s.q[:0], s.q[k:]...)
		s.mixedTotal += k
		if k < n { // underrun: wait to refill
			s.primed = false
		}
	}
	m.mu.Unlock()
	out := make([]int16, n)
	for i, v := range acc {
		out[i] = int16(max(math.MinInt16, min(math.MaxInt16, v)))
	}
	return out
}

// Levels returns every participant's level, and the active speaker ("" if
// nobody speaks), which changes at most once per SpeakerHold.
func (m *Mixer) Levels() (map[string]Level, string) {
	m.mu.Lock()
	defer m.mu.Unlock()
	now := m.now()
	out := make(map[string]Level, len(m.streams))
	best, bestDB := "", SpeakingDB
	for id, s := range m.streams {
		db := s.levelDB
		if now.Sub(s.lastAudio) > 200*time.Millisecond {
			db = -127
		}
		l := Level{DB: db, Muted: now.Sub(s.lastSound) > MutedAfter, Speaking: db > SpeakingDB}
		out[id] = l
		if l.Speaking && db > bestDB {
			best, bestDB = id, db
		}
	}
	cur := m.speaker
	curStill := false
	if l, ok := out[cur]; ok && l.Speaking {
		curStill = true
	}
	switch {
	case best == cur:
		m.speakerT = now
	case curStill && now.Sub(m.speakerT) < SpeakerHold:
		// keep the current speaker a little longer
	case best != "":
		m.speaker, m.speakerT = best, now
	case now.Sub(m.speakerT) > SpeakerHold:
		m.speaker = ""
	}
	return out, m.speaker
}

// Run mixes one 20 ms frame every 20 ms and hands it to out until ctx
// ends. It keeps running with no playback device so levels and taps work.
func (m *Mixer) Run(ctx context.Context, out func([]int16)) {
	t := time.NewTicker(audio.FrameDuration)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			out(m.Mix(audio.FrameSamples))
		}
	}
}
