package ui

import (
	"strings"
	"testing"

	"fyne.io/fyne/v2"
)

// TestTileNameFits: in a small tile (the strip under a shared screen) the
// level meter gives way to the name, a long name is shortened with an
// ellipsis and ends before the quality bars; made wide again, the tile
// shows the whole name beside the meter.
func TestTileNameFits(t *testing.T) {
	_ = window(t) // the app that measures text
	const name = "Alice Walker-Montgomery"
	var tl *tile // one tile, made small and then wide again
	fyne.DoAndWait(func() {
		tl = newTile("x")
		tl.render(tileInfo{Name: name, HasVideo: true, ShowQ: true, Quality: 3})
	})
	check := func(width float32) (shown string, nameEnd, rightStart float32, meter bool) {
		fyne.DoAndWait(func() {
			tl.obj.Resize(fyne.NewSize(width, width*3/4))
			n := tl.name
			shown = n.Text
			nameEnd = n.Position().X + fyne.MeasureText(n.Text, n.TextSize, n.TextStyle).Width
			rightStart = tl.nameRow.Objects[2].Position().X
			meter = tl.meterBox.Visible()
		})
		return
	}
	shown, end, right, meter := check(150)
	if !strings.HasSuffix(shown, "…") || len([]rune(shown)) < 8 || meter {
		t.Errorf("150 px tile shows %q (meter shown: %v), want a shortened name ending in an ellipsis, no meter", shown, meter)
	}
	if end > right {
		t.Errorf("150 px tile: the name ends at %.0f px, past the bars' start at %.0f px", end, right)
	}
	if shown, end, right, meter = check(400); shown != name || end > right || !meter {
		t.Errorf("400 px tile shows %q ending at %.0f px (right group at %.0f px, meter shown: %v), want the whole name before the meter", shown, end, right, meter)
	}
}
