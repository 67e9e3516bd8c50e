package ui

import "github.com/podiumhq/podium/ui/store"

// screenState is the controller's screen share.
type screenState struct{}

func (c *Controller) toggleScreenShare() {
	c.st.Dispatch(store.Notify{Text: "Screen sharing is not available yet."})
}
