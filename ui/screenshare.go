package ui

import (
	"image"
	"sync"

	"github.com/podiumhq/podium/media/source"
	"github.com/podiumhq/podium/ui/devices"
	"github.com/podiumhq/podium/ui/session"
	"github.com/podiumhq/podium/ui/store"
)

// selfScreenKey is where our own shared screen goes in the frame store
// (the stage shows it while we share).
var selfScreenKey = session.ScreenKey(session.SelfID)

// screenState is the controller's screen share.
type screenState struct {
	mu sync.Mutex // serialises start and stop
	// Open opens the screen (tests substitute a source); nil:
	// devices.OpenScreen.
	Open func() (source.Video, string, error)
}

// tapVideo shows each frame it passes on in the frame store.
type tapVideo struct {
	source.Video
	put func(*image.RGBA)
}

func (t tapVideo) ReadFrame() (*image.RGBA, error) {
	img, err := t.Video.ReadFrame()
	if err == nil {
		t.put(img)
	}
	return img, err
}

// toggleScreenShare starts or stops sharing the screen in the call.
func (c *Controller) toggleScreenShare() {
	c.screen.mu.Lock()
	defer c.screen.mu.Unlock()
	sess := c.Session()
	if sess == nil {
		return
	}
	if c.st.State().ScreenShare {
		sess.StopScreenShare()
		c.fr.Remove(selfScreenKey)
		c.st.Dispatch(store.ScreenShareStopped{})
		return
	}
	open := c.screen.Open
	if open == nil {
		open = devices.OpenScreen
	}
	src, note, err := open()
	if err != nil {
		c.st.Dispatch(store.ScreenShareStopped{Reason: "Cannot share your screen: " + err.Error()})
		return
	}
	if err := sess.StartScreenShare(tapVideo{Video: src, put: func(img *image.RGBA) { c.fr.Put(selfScreenKey, img) }}); err != nil {
		_ = src.Close()
		c.st.Dispatch(store.ScreenShareStopped{Reason: "Cannot share your screen: " + err.Error()})
		return
	}
	c.st.Dispatch(store.ScreenShareStarted{Note: note})
}
