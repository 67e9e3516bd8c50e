package ui

import (
	"fmt"
	"image/color"
	"math"
	"strings"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/canvas"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/layout"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"

	"github.com/podiumhq/podium/ui/store"
)

var (
	tileBG      = color.NRGBA{0x20, 0x24, 0x2c, 0xff}
	barBG       = color.NRGBA{0, 0, 0, 0xa0}
	speakColor  = color.NRGBA{0x3d, 0xdc, 0x84, 0xff}
	levelColor  = color.NRGBA{0x3d, 0xdc, 0x84, 0xff}
	mutedColor  = color.NRGBA{0xe0, 0x4f, 0x4f, 0xff}
	qualityCols = map[store.Quality]color.Color{
		store.QualityGood: color.NRGBA{0x3d, 0xdc, 0x84, 0xff}, store.QualityFair: color.NRGBA{0xf0, 0xc0, 0x40, 0xff},
		store.QualityPoor: color.NRGBA{0xe0, 0x4f, 0x4f, 0xff}, store.QualityUnknown: color.NRGBA{0x80, 0x80, 0x80, 0xff}}
)

// tile shows one participant: video (or initials when there is none),
// name, mute badge, level meter, connection quality, raised hand, and a
// green border while they speak.
type tile struct {
	id       string
	obj      fyne.CanvasObject
	img      *canvas.Image
	avatar   *fyne.Container
	initial  *canvas.Text
	name     *canvas.Text // fullName, shortened to fit (nameRowLayout)
	fullName string
	nameRow  *fyne.Container
	meterBox *fyne.Container // hidden where the name would not fit beside it
	muted    *widget.Icon
	level    *canvas.Rectangle
	levelW   float32
	quality  [3]*canvas.Rectangle
	qLabel   *canvas.Text // "Poor · loss 14%" beside the bars (fair and poor only)
	offText  *canvas.Text // why the video is off, under the initials
	badge    *canvas.Text // top right: our sending state on the self tile
	badgeBox *fyne.Container
	hand     *canvas.Text
	handBox  *fyne.Container
	border   *canvas.Rectangle
}

func newTile(id string) *tile {
	t := &tile{id: id, levelW: 60}
	t.img = &canvas.Image{FillMode: canvas.ImageFillContain, ScaleMode: canvas.ImageScaleFastest}
	circle := canvas.NewCircle(color.NRGBA{0x4a, 0x5a, 0x7a, 0xff})
	t.initial = canvas.NewText("", color.White)
	t.initial.TextSize = 36
	t.initial.TextStyle.Bold = true
	t.offText = canvas.NewText("", color.NRGBA{0xd8, 0xdc, 0xe4, 0xff})
	t.offText.TextSize = 14
	t.offText.Alignment = fyne.TextAlignCenter
	t.avatar = container.NewCenter(container.NewVBox(container.New(&squareLayout{side: 96}, circle, container.NewCenter(t.initial)),
		container.NewCenter(t.offText)))
	t.name = canvas.NewText("", color.White)
	t.name.TextSize = 13
	t.muted = widget.NewIcon(theme.VolumeMuteIcon())
	t.level = canvas.NewRectangle(levelColor)
	levelBG := canvas.NewRectangle(color.NRGBA{0x50, 0x50, 0x50, 0xff})
	meter := container.New(&meterLayout{w: t.levelW, h: 6, fill: t.level}, levelBG, t.level)
	q := container.NewHBox()
	for i := range t.quality {
		r := canvas.NewRectangle(qualityCols[store.QualityUnknown])
		t.quality[i] = r
		q.Add(container.New(&barLayout{w: 4, h: float32(5 + 4*i), maxH: 13}, r))
	}
	t.hand = canvas.NewText("", color.NRGBA{0xff, 0xd0, 0x40, 0xff})
	t.hand.TextSize = 15
	t.hand.TextStyle.Bold = true
	t.qLabel = canvas.NewText("", qualityCols[store.QualityUnknown])
	t.qLabel.TextSize = 12
	t.qLabel.TextStyle.Bold = true
	t.qLabel.Hide()
	// An inset at each end keeps the name and the bars off the tile's
	// rounded border.
	inset := func() fyne.CanvasObject {
		r := canvas.NewRectangle(color.Transparent)
		r.SetMinSize(fyne.NewSize(4, 1))
		return r
	}
	t.meterBox = container.NewCenter(meter)
	t.nameRow = container.New(&nameRowLayout{t: t}, container.NewHBox(inset(), t.muted), t.name,
		container.NewHBox(t.meterBox, container.NewCenter(t.qLabel), q, inset()))
	bottom := container.NewStack(canvas.NewRectangle(barBG), t.nameRow)
	t.border = canvas.NewRectangle(color.Transparent)
	t.border.StrokeWidth = 3
	t.border.CornerRadius = 6
	bg := canvas.NewRectangle(tileBG)
	bg.CornerRadius = 6
	t.handBox = container.NewStack(canvas.NewRectangle(barBG), container.NewPadded(t.hand))
	t.handBox.Hide()
	t.badge = canvas.NewText("", color.White)
	t.badge.TextSize = 12
	t.badgeBox = container.NewStack(canvas.NewRectangle(barBG), container.NewPadded(t.badge))
	t.badgeBox.Hide()
	top := container.NewHBox(t.handBox, layout.NewSpacer(), t.badgeBox)
	t.obj = container.NewStack(bg, t.avatar, t.img, container.NewBorder(top, bottom, nil, nil), t.border)
	return t
}

func initials(name string) string {
	f := strings.Fields(name)
	switch {
	case len(f) == 0:
		return "?"
	case len(f) == 1:
		r := []rune(f[0])
		return strings.ToUpper(string(r[:1]))
	}
	return strings.ToUpper(string([]rune(f[0])[:1]) + string([]rune(f[len(f)-1])[:1]))
}

// tileInfo is what a tile renders besides the video.
type tileInfo struct {
	Name     string
	Muted    bool
	LevelDB  float64
	Quality  store.Quality
	HasVideo bool
	Hand     bool
	Speaking bool
	ShowQ    bool
	// QualityReason is shown beside the bars when fair or poor.
	QualityReason string
	// VideoOff says why there is no video (under the initials).
	VideoOff string
	// Badge is shown top right (the self tile's sending state).
	Badge string
}

func (t *tile) render(in tileInfo) {
	if t.fullName != in.Name {
		t.fullName = in.Name
		t.nameRow.Refresh() // lays the name out again, shortened to fit
		t.initial.Text = initials(in.Name)
		t.initial.Refresh()
	}
	if in.HasVideo != t.img.Visible() {
		t.img.Hidden = !in.HasVideo
		t.img.Refresh()
	}
	if in.HasVideo == t.avatar.Visible() {
		t.avatar.Hidden = in.HasVideo
		t.avatar.Refresh()
	}
	if in.Muted != t.muted.Visible() {
		t.muted.Hidden = !in.Muted
		t.muted.Refresh()
	}
	// Level: -60 dBov empty, -10 dBov full.
	frac := float32(math.Max(0, math.Min(1, (in.LevelDB+60)/50)))
	if in.Muted {
		frac = 0
	}
	t.level.Resize(fyne.NewSize(frac*t.levelW, 6))
	t.level.Refresh()
	for i, r := range t.quality {
		c := qualityCols[store.QualityUnknown]
		if in.ShowQ && int(in.Quality) >= i+1 {
			c = qualityCols[in.Quality]
		}
		if !in.ShowQ {
			r.Hide()
		} else {
			r.Show()
		}
		if r.FillColor != c {
			r.FillColor = c
			r.Refresh()
		}
	}
	ql := ""
	if in.ShowQ && (in.Quality == store.QualityFair || in.Quality == store.QualityPoor) {
		ql = store.QualityLabel(in.Quality, in.QualityReason)
	}
	if ql != t.qLabel.Text || (ql != "") != t.qLabel.Visible() || (ql != "" && t.qLabel.Color != qualityCols[in.Quality]) {
		t.qLabel.Text = ql
		if ql != "" {
			t.qLabel.Color = qualityCols[in.Quality]
		}
		t.qLabel.Hidden = ql == ""
		t.qLabel.Refresh()
	}
	if t.offText.Text != in.VideoOff {
		t.offText.Text = in.VideoOff
		t.offText.Refresh()
	}
	if t.badge.Text != in.Badge || (in.Badge != "") != t.badgeBox.Visible() {
		t.badge.Text = in.Badge
		t.badgeBox.Hidden = in.Badge == ""
		t.badge.Refresh()
		t.badgeBox.Refresh()
	}
	if in.Hand != t.handBox.Visible() {
		t.hand.Text = "Hand raised"
		t.handBox.Hidden = !in.Hand
		t.handBox.Refresh()
	}
	var bc color.Color = color.Transparent
	if in.Speaking {
		bc = speakColor
	}
	if t.border.StrokeColor != bc {
		t.border.StrokeColor = bc
		t.border.Refresh()
	}
}

// qualityText describes a remote's connection for the participants panel.
func qualityText(r store.Remote) string {
	if r.Quality == store.QualityUnknown {
		return "connecting"
	}
	t := store.QualityLabel(r.Quality, r.QualityReason)
	if off := store.VideoOffText(r); off != "" {
		return t + " · " + off
	}
	return t + fmt.Sprintf(" (%.0f fps, %.1f%% loss, %.0f ms jitter)", r.FPS, r.LossPct, r.JitterMs)
}

// gridLayout arranges tiles in the largest equal 4:3 cells that fit, in
// ceil(sqrt(n)) columns, centred.
// gridLayout arranges tiles in an adaptive grid, or (strip) in one row
// under a shared screen.
type gridLayout struct {
	pad   float32
	strip bool
}

func (g *gridLayout) MinSize([]fyne.CanvasObject) fyne.Size { return fyne.NewSize(160, 120) }

func (g *gridLayout) Layout(objs []fyne.CanvasObject, size fyne.Size) {
	n := len(objs)
	if n == 0 {
		return
	}
	cols := int(math.Ceil(math.Sqrt(float64(n))))
	if g.strip {
		cols = n
	}
	if size.Width > 0 && size.Height > 0 && n == 2 && size.Width/size.Height > 1.2 {
		cols = 2
	}
	rows := (n + cols - 1) / cols
	w := (size.Width - g.pad*float32(cols+1)) / float32(cols)
	h := w * 3 / 4
	if hMax := (size.Height - g.pad*float32(rows+1)) / float32(rows); h > hMax {
		h = hMax
		w = h * 4 / 3
	}
	x0 := (size.Width - (w*float32(cols) + g.pad*float32(cols-1))) / 2
	y0 := (size.Height - (h*float32(rows) + g.pad*float32(rows-1))) / 2
	for i, o := range objs {
		r, c := i/cols, i%cols
		inRow := cols
		if r == rows-1 && n%cols != 0 {
			inRow = n % cols // centre the last, shorter row
		}
		xr := x0 + (w+g.pad)*float32(cols-inRow)/2
		o.Move(fyne.NewPos(xr+float32(c)*(w+g.pad), y0+float32(r)*(h+g.pad)))
		o.Resize(fyne.NewSize(w, h))
	}
}

// nameRowLayout is a tile's bottom bar: the left group (inset, mute
// badge) and the right group (level meter, quality) keep their sizes, and
// the name gets the width between them (in a strip of small tiles a full
// name ran under the level meter). Where the name does not fit, the level
// meter is left out (the speaker's green border still shows who talks),
// and a name that still does not fit is shortened with an ellipsis.
type nameRowLayout struct{ t *tile }

const nameGap = 6 // px between the name and the right group

func (n *nameRowLayout) MinSize(objs []fyne.CanvasObject) fyne.Size {
	l, r := objs[0].MinSize(), objs[2].MinSize()
	h := max(l.Height, r.Height, n.t.name.MinSize().Height)
	return fyne.NewSize(l.Width+nameGap+r.Width, h)
}

func (n *nameRowLayout) Layout(objs []fyne.CanvasObject, size fyne.Size) {
	left, name, right, meter := objs[0], n.t.name, objs[2], n.t.meterBox
	l, r := left.MinSize(), right.MinSize()
	withMeter := r.Width
	if !meter.Visible() { // the right group's HBox puts a padding before it
		withMeter += meter.MinSize().Width + theme.Padding()
	}
	// Shown or hidden only when that changes (each toggle redraws).
	if fits := fyne.MeasureText(n.t.fullName, name.TextSize, name.TextStyle).Width <= size.Width-l.Width-withMeter-nameGap; fits != meter.Visible() {
		if fits {
			meter.Show()
		} else {
			meter.Hide()
		}
		r = right.MinSize()
	}
	left.Resize(fyne.NewSize(l.Width, size.Height))
	left.Move(fyne.NewPos(0, 0))
	right.Resize(fyne.NewSize(r.Width, size.Height))
	right.Move(fyne.NewPos(size.Width-r.Width, 0))
	avail := size.Width - l.Width - r.Width - nameGap
	if txt := ellipsize(n.t.fullName, avail, name.TextSize, name.TextStyle); txt != name.Text {
		name.Text = txt
		name.Refresh()
	}
	nh := name.MinSize().Height
	name.Resize(fyne.NewSize(max(avail, 0), nh))
	name.Move(fyne.NewPos(l.Width, (size.Height-nh)/2))
}

// ellipsize shortens s with a trailing "…" to fit width (px) at the given
// text size and style; "" when not even the ellipsis fits.
func ellipsize(s string, width, size float32, style fyne.TextStyle) string {
	if fyne.MeasureText(s, size, style).Width <= width {
		return s
	}
	r := []rune(s)
	for i := len(r) - 1; i > 0; i-- {
		if c := strings.TrimRight(string(r[:i]), " ") + "…"; fyne.MeasureText(c, size, style).Width <= width {
			return c
		}
	}
	return ""
}

type squareLayout struct{ side float32 }

func (s *squareLayout) MinSize([]fyne.CanvasObject) fyne.Size { return fyne.NewSize(s.side, s.side) }
func (s *squareLayout) Layout(objs []fyne.CanvasObject, size fyne.Size) {
	for _, o := range objs {
		o.Resize(fyne.NewSize(s.side, s.side))
		o.Move(fyne.NewPos((size.Width-s.side)/2, (size.Height-s.side)/2))
	}
}

// meterLayout: background full width, fill keeps its own width.
type meterLayout struct {
	w, h float32
	fill fyne.CanvasObject
}

func (m *meterLayout) MinSize([]fyne.CanvasObject) fyne.Size { return fyne.NewSize(m.w, m.h) }
func (m *meterLayout) Layout(objs []fyne.CanvasObject, size fyne.Size) {
	for _, o := range objs {
		o.Move(fyne.NewPos(0, (size.Height-m.h)/2))
		if o != m.fill {
			o.Resize(fyne.NewSize(m.w, m.h))
		}
	}
}

// barLayout is one quality bar, bottom-aligned.
type barLayout struct{ w, h, maxH float32 }

func (b *barLayout) MinSize([]fyne.CanvasObject) fyne.Size { return fyne.NewSize(b.w+2, b.maxH) }
func (b *barLayout) Layout(objs []fyne.CanvasObject, size fyne.Size) {
	for _, o := range objs {
		o.Resize(fyne.NewSize(b.w, b.h))
		o.Move(fyne.NewPos(1, (size.Height+b.maxH)/2-b.h))
	}
}
