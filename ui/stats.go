package ui

import (
	"fmt"
	"image/color"
	"strings"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/canvas"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/layout"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"

	"github.com/podiumhq/podium/ui/store"
)

// statsRows are the stats panel's rows per remote, one column per track
// (audio, video).
var statsRows = []string{"Quality", "Packets lost", "Loss now", "Lost audio filled", "Received", "Bitrate", "Frame rate", "Jitter", "Round trip"}

// statsPanel is the "Call stats" side panel (like Teams' call health):
// what we send, and per remote track the live receive statistics.
type statsPanel struct {
	obj     fyne.CanvasObject
	list    *fyne.Container
	sending *widget.Label
	layout  string // the remotes and tracks the rows were built for
	remotes map[string]*statsRemote
}

// statsRemote is one remote's block: a header and a grid of cells.
type statsRemote struct {
	head    *canvas.Text
	quality *canvas.Text
	off     *canvas.Text
	cells   [][]*canvas.Text // [row][track]
}

func newStatsPanel() *statsPanel {
	p := &statsPanel{remotes: map[string]*statsRemote{}}
	p.sending = widget.NewLabel("")
	p.sending.Wrapping = fyne.TextWrapWord
	p.list = container.NewVBox()
	p.obj = container.NewBorder(widget.NewLabelWithStyle("Call stats", fyne.TextAlignLeading, fyne.TextStyle{Bold: true}), nil, nil, nil,
		container.NewVScroll(container.NewVBox(widget.NewLabelWithStyle("You are sending", fyne.TextAlignLeading, fyne.TextStyle{Bold: true}),
			p.sending, widget.NewSeparator(), p.list)))
	return p
}

// sendingText describes our own camera's adaptation.
func sendingText(s store.State) string {
	snd := s.Sending
	switch {
	case s.CameraOff:
		return "Camera off (you turned it off)"
	case !snd.Adaptive || (snd.Width == 0 && !snd.AudioOnly):
		return "Starting…"
	}
	why := map[string]string{store.ReasonBandwidth: "lowered: your connection's bandwidth", store.ReasonCPU: "lowered: your computer is busy",
		"probe": "trying video again"}[snd.Reason]
	if snd.Reason == store.ReasonBandwidth && snd.ScreenKbps > 0 {
		why = "lowered: your screen share goes first"
	}
	var b strings.Builder
	if snd.AudioOnly {
		b.WriteString("Audio only")
	} else {
		fmt.Fprintf(&b, "Video %dx%d at %d fps, %.0f kbit/s", snd.Width, snd.Height, snd.FPS, snd.BitrateKbps)
	}
	if why != "" {
		b.WriteString(" (" + why + ")")
	}
	fmt.Fprintf(&b, "\nBandwidth estimate %.0f kbit/s", snd.EstimateKbps)
	if snd.ScreenKbps > 0 {
		fmt.Fprintf(&b, ", of which your screen share %.0f kbit/s", snd.ScreenKbps)
	}
	return b.String()
}

func statsText(text string, size float32, bold bool) *canvas.Text {
	t := canvas.NewText(text, theme.Color(theme.ColorNameForeground))
	t.TextSize = size
	t.TextStyle.Bold = bold
	return t
}

func trackName(ts store.TrackStat) string {
	switch {
	case ts.Kind == "audio":
		return "Audio"
	case ts.Track == "camera":
		return "Video"
	}
	return ts.Track
}

// cell is one statistic of one track.
func cell(row string, ts store.TrackStat) string {
	video := ts.Kind == "video"
	switch row {
	case "Quality":
		if ts.VideoOff != "" {
			return "off"
		}
		return ts.Quality.String()
	case "Packets lost":
		return fmt.Sprintf("%d of %d", ts.PacketsLost, ts.Packets+int(max(ts.PacketsLost, 0)))
	case "Loss now":
		return fmt.Sprintf("%.1f %%", ts.LossPct)
	case "Lost audio filled":
		if video {
			return "—"
		}
		return fmt.Sprintf("%d FEC · %d PLC", ts.FECRecovered, ts.Concealed) // PLC: packet loss concealment
	case "Received":
		return bytesText(ts.Bytes)
	case "Bitrate":
		return fmt.Sprintf("%.0f kbit/s", ts.BitrateKbps)
	case "Frame rate":
		if !video {
			return "—"
		}
		return fmt.Sprintf("%.0f fps", ts.FPS)
	case "Jitter":
		return fmt.Sprintf("%.0f ms", ts.JitterMs)
	case "Round trip":
		return fmt.Sprintf("%.1f ms", ts.RTTMs)
	}
	return ""
}

func bytesText(n int) string {
	switch {
	case n >= 1<<20:
		return fmt.Sprintf("%.1f MB", float64(n)/(1<<20))
	case n >= 1<<10:
		return fmt.Sprintf("%.0f kB", float64(n)/(1<<10))
	}
	return fmt.Sprintf("%d B", n)
}

func (p *statsPanel) render(s store.State) {
	p.sending.SetText(sendingText(s))
	ids := store.SortedRemoteIDs(s)
	var key strings.Builder
	for _, id := range ids {
		r, _ := s.Remote(id)
		key.WriteString(id + "(")
		for _, ts := range r.Tracks {
			key.WriteString(ts.Kind + ",")
		}
		key.WriteString(")")
	}
	if key.String() != p.layout {
		p.build(s, ids)
		p.layout = key.String()
	}
	fg := theme.Color(theme.ColorNameForeground)
	for _, id := range ids {
		r, _ := s.Remote(id)
		sr := p.remotes[id]
		if sr == nil {
			continue
		}
		setCanvasText(sr.head, r.Name, fg)
		qc := qualityCols[r.Quality]
		if r.Quality == store.QualityUnknown {
			qc = fg
		}
		ql := store.QualityLabel(r.Quality, r.QualityReason)
		if r.Quality == store.QualityUnknown && len(r.Tracks) > 0 {
			ql = "Not measured: nothing is received now"
		}
		setCanvasText(sr.quality, ql, qc)
		off := store.VideoOffText(r)
		setCanvasText(sr.off, off, fg)
		if (off == "") != sr.off.Hidden {
			sr.off.Hidden = off == ""
			sr.off.Refresh()
		}
		for ri, row := range statsRows {
			for ti, ts := range r.Tracks {
				c := fg
				if row == "Quality" && ts.VideoOff == "" {
					c = qualityCols[ts.Quality]
				}
				setCanvasText(sr.cells[ri][ti], cell(row, ts), c)
			}
		}
	}
}

func setCanvasText(t *canvas.Text, text string, c color.Color) {
	if t.Text != text || t.Color != c {
		t.Text, t.Color = text, c
		t.Refresh()
	}
}

// build lays out one block per remote.
func (p *statsPanel) build(s store.State, ids []string) {
	p.remotes = map[string]*statsRemote{}
	var objs []fyne.CanvasObject
	for _, id := range ids {
		r, _ := s.Remote(id)
		sr := &statsRemote{head: statsText(r.Name, 14, true), quality: statsText("", 13, true), off: statsText("", 12, false)}
		objs = append(objs, sr.head, sr.quality, sr.off)
		if len(r.Tracks) == 0 {
			objs = append(objs, statsText("No media received yet", 12, false))
		} else {
			cols := len(r.Tracks) + 1
			grid := container.New(layout.NewGridLayoutWithColumns(cols), statsText("", 12, false))
			for _, ts := range r.Tracks {
				grid.Add(statsText(trackName(ts), 12, true))
			}
			for _, row := range statsRows {
				grid.Add(statsText(row, 12, false))
				cells := make([]*canvas.Text, len(r.Tracks))
				for ti := range r.Tracks {
					cells[ti] = statsText("", 12, false)
					grid.Add(cells[ti])
				}
				sr.cells = append(sr.cells, cells)
			}
			objs = append(objs, grid)
		}
		objs = append(objs, widget.NewSeparator())
		p.remotes[id] = sr
	}
	if len(objs) == 0 {
		objs = append(objs, widget.NewLabel("Nobody else is in the call."))
	}
	p.list.Objects = objs
	p.list.Refresh()
}
