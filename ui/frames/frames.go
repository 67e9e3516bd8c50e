// Package frames hands the latest video frame of each participant from the
// goroutine that decodes or captures it to the UI thread, through three
// RGBA buffers per participant (writing, ready, shown), so the painter
// never reads a buffer being written and nothing is allocated per frame.
package frames

import (
	"image"
	"image/draw"
	"sync"
	"time"
)

type slot struct {
	free          []*image.RGBA
	ready, shown  *image.RGBA
	last          time.Time
	dark          bool
	count, shownN int
}

// Store keeps a slot per participant ID. Safe for concurrent use.
type Store struct {
	mu    sync.Mutex
	slots map[string]*slot
}

// New returns an empty store.
func New() *Store { return &Store{slots: map[string]*slot{}} }

func (s *Store) get(id string, r image.Rectangle) (*slot, *image.RGBA) {
	sl := s.slots[id]
	if sl == nil {
		sl = &slot{}
		s.slots[id] = sl
	}
	var buf *image.RGBA
	for len(sl.free) > 0 {
		buf = sl.free[len(sl.free)-1]
		sl.free = sl.free[:len(sl.free)-1]
		if buf.Rect.Eq(r) {
			break
		}
		buf = nil
	}
	if buf == nil {
		buf = image.NewRGBA(r)
	}
	return sl, buf
}

// Put stores a copy of img as id's latest frame (converting YCbCr).
func (s *Store) Put(id string, img image.Image) {
	r := img.Bounds().Sub(img.Bounds().Min)
	s.mu.Lock()
	_, buf := s.get(id, r)
	s.mu.Unlock()
	if src, ok := img.(*image.RGBA); ok {
		for y := 0; y < r.Dy(); y++ {
			copy(buf.Pix[y*buf.Stride:y*buf.Stride+4*r.Dx()], src.Pix[src.PixOffset(src.Rect.Min.X, src.Rect.Min.Y+y):])
		}
	} else {
		draw.Draw(buf, r, img, img.Bounds().Min, draw.Src)
	}
	dark := isDark(buf)
	s.mu.Lock()
	sl := s.slots[id]
	if sl == nil { // removed meanwhile
		s.mu.Unlock()
		return
	}
	if sl.ready != nil {
		sl.free = append(sl.free, sl.ready)
	}
	sl.ready, sl.last, sl.dark = buf, time.Now(), dark
	sl.count++
	s.mu.Unlock()
}

// isDark samples the frame: a black picture means the camera is off.
func isDark(img *image.RGBA) bool {
	b := img.Rect
	for y := b.Min.Y + 4; y < b.Max.Y; y += b.Dy()/16 + 1 {
		for x := b.Min.X + 4; x < b.Max.X; x += b.Dx()/16 + 1 {
			i := img.PixOffset(x, y)
			if int(img.Pix[i])+int(img.Pix[i+1])+int(img.Pix[i+2]) > 3*24 {
				return false
			}
		}
	}
	return true
}

// Take is called on the UI thread: it makes the ready frame (if any) the
// shown one and returns it with fresh=true; otherwise the shown frame.
// The returned image stays valid until the next Take for id.
func (s *Store) Take(id string) (img *image.RGBA, fresh bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	sl := s.slots[id]
	if sl == nil {
		return nil, false
	}
	if sl.ready == nil {
		return sl.shown, false
	}
	if sl.shown != nil {
		sl.free = append(sl.free, sl.shown)
	}
	sl.shown, sl.ready = sl.ready, nil
	sl.shownN++
	return sl.shown, true
}

// Live reports whether id sent a picture (not black) in the last 2 s.
func (s *Store) Live(id string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	sl := s.slots[id]
	return sl != nil && !sl.dark && time.Since(sl.last) < 2*time.Second
}

// Age is how long ago id's latest frame arrived (ok false: none yet).
// Unlike Live it ignores darkness: a shared screen may well be black.
func (s *Store) Age(id string) (age time.Duration, ok bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	sl := s.slots[id]
	if sl == nil || sl.count == 0 {
		return 0, false
	}
	return time.Since(sl.last), true
}

// Counts returns how many frames id received and how many were shown.
func (s *Store) Counts(id string) (received, shown int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if sl := s.slots[id]; sl != nil {
		return sl.count, sl.shownN
	}
	return 0, 0
}

// Remove forgets id.
func (s *Store) Remove(id string) {
	s.mu.Lock()
	delete(s.slots, id)
	s.mu.Unlock()
}
