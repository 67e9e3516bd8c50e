// Package audioout plays 48 kHz mono PCM on a sound card through miniaudio
// (github.com/gen2brain/malgo, the library mediadevices' microphone driver
// uses too). Write never blocks: a ring buffer absorbs the difference
// between the mixer's clock and the device's.
package audioout

import (
	"encoding/binary"
	"errors"
	"fmt"
	"sync"

	"github.com/gen2brain/malgo"

	"github.com/podiumhq/podium/media/audio"
)

// Device is a playback device.
type Device struct {
	ID, Name string
	Default  bool
}

// Devices lists playback devices (empty with no sound card).
func Devices() ([]Device, error) {
	ctx, err := malgo.InitContext(nil, malgo.ContextConfig{}, nil)
	if err != nil {
		return nil, err
	}
	defer func() { _ = ctx.Uninit(); ctx.Free() }()
	infos, err := ctx.Devices(malgo.Playback)
	if err != nil {
		return nil, err
	}
	out := make([]Device, 0, len(infos))
	for _, in := range infos {
		out = append(out, Device{ID: fmt.Sprintf("%x", in.ID[:]), Name: in.Name(), Default: in.IsDefault != 0})
	}
	return out, nil
}

// Player plays what Write receives.
type Player struct {
	ctx *malgo.AllocatedContext
	dev *malgo.Device

	mu   sync.Mutex
	ring []int16
}

// maxBuffered is 200 ms; older audio is dropped beyond it.
const maxBuffered = audio.SampleRate / 5

// Open starts playback on the device with id ("" for the default).
func Open(id string) (*Player, error) {
	ctx, err := malgo.InitContext(nil, malgo.ContextConfig{}, nil)
	if err != nil {
		return nil, fmt.Errorf("audio output: %w", err)
	}
	p := &Player{ctx: ctx}
	cfg := malgo.DefaultDeviceConfig(malgo.Playback)
	cfg.Playback.Format = malgo.FormatS16
	cfg.Playback.Channels = 1
	cfg.SampleRate = audio.SampleRate
	if id != "" {
		infos, _ := ctx.Devices(malgo.Playback)
		for i := range infos {
			if fmt.Sprintf("%x", infos[i].ID[:]) == id {
				cfg.Playback.DeviceID = infos[i].ID.Pointer()
			}
		}
	}
	dev, err := malgo.InitDevice(ctx.Context, cfg, malgo.DeviceCallbacks{Data: p.fill})
	if err != nil {
		_ = ctx.Uninit()
		ctx.Free()
		return nil, fmt.Errorf("audio output: no playback device (%w)", err)
	}
	if err := dev.Start(); err != nil {
		dev.Uninit()
		_ = ctx.Uninit()
		ctx.Free()
		return nil, fmt.Errorf("audio output: %w", err)
	}
	p.dev = dev
	return p, nil
}

func (p *Player) fill(out, _ []byte, frames uint32) {
	p.mu.Lock()
	n := min(int(frames), len(p.ring), len(out)/2)
	for i := 0; i < n; i++ {
		binary.LittleEndian.PutUint16(out[2*i:], uint16(p.ring[i]))
	}
	p.ring = append(p.ring[:0], p.ring[n:]...)
	p.mu.Unlock()
	clear(out[2*n:])
}

// Write queues pcm for playback.
func (p *Player) Write(pcm []int16) {
	p.mu.Lock()
	p.ring = append(p.ring, pcm...)
	if over := len(p.ring) - maxBuffered; over > 0 {
		p.ring = append(p.ring[:0], p.ring[over:]...)
	}
	p.mu.Unlock()
}

// Close stops playback.
func (p *Player) Close() error {
	if p == nil || p.dev == nil {
		return errors.New("audio output: not open")
	}
	p.dev.Uninit()
	err := p.ctx.Uninit()
	p.ctx.Free()
	p.dev = nil
	return err
}
