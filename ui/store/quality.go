package store

import "fmt"

// PanelStats is the "Call stats" side panel: what we send and, per remote
// track, loss, bitrate, frame rate, jitter and round-trip time.
const PanelStats Panel = "stats"

// Why a remote's video is off (Remote.VideoOff).
const (
	VideoOffSender   = "sender"   // they turned it off, or their link or computer cannot carry it (VideoOffReason)
	VideoOffReceiver = "receiver" // we asked the server for none (tile not shown)
	VideoOffQuality  = "quality"  // nothing arrives: the connection is too poor for video
)

// Sender reasons (Remote.VideoOffReason, Sending.Reason).
const (
	ReasonUser      = "user"
	ReasonBandwidth = "bandwidth"
	ReasonCPU       = "cpu"
)

// TrackStat is one remote track's live statistics.
type TrackStat struct {
	Track, Kind   string // "camera", "microphone", "screen"; "video" or "audio"
	Packets       int
	PacketsLost   int64
	Bytes         int
	BitrateKbps   float64 // over the last second or so
	LossPct       float64 // over the last second or so
	FPS           float64
	FramesDecoded int
	JitterMs      float64
	RTTMs         float64
	Quality       Quality
	Reason        string
	VideoOff      string // VideoOff* for video tracks that are off
	// Audio frames lost and filled: from the next packet's FEC, or by
	// concealment.
	FECRecovered, Concealed int
}

// Sending is what our own camera publishes now (the adaptation ladder).
type Sending struct {
	Adaptive      bool
	Width, Height int
	FPS           int
	AudioOnly     bool
	// Reason we send below our best: "bandwidth", "cpu", "probe" (trying
	// video again) or "".
	Reason       string
	BitrateKbps  float64 // what the encoder produced over the last second
	EstimateKbps float64 // the bandwidth estimate
	// ScreenKbps is our screen share's part of the estimate (0 when not
	// sharing): a camera lowered for bandwidth then yields to the share.
	ScreenKbps float64
	Changes    int // ladder steps so far
}

// Label is the short sending state shown on the self tile, e.g.
// "640x480 · 15 fps" or "Audio only — bandwidth".
func (s Sending) Label() string {
	switch {
	case !s.Adaptive:
		return ""
	case s.AudioOnly:
		r := s.Reason
		if r == "" || r == "probe" {
			r = ReasonBandwidth
		}
		return "Audio only — " + r
	case s.Width == 0:
		return ""
	}
	l := fmt.Sprintf("%dx%d · %d fps", s.Width, s.Height, s.FPS)
	switch {
	case s.Reason == ReasonBandwidth && s.ScreenKbps > 0:
		l += " — screen share first"
	case s.Reason == ReasonBandwidth || s.Reason == ReasonCPU:
		l += " — " + s.Reason
	}
	return l
}

// ParseQuality maps participant quality levels ("good", "fair", "poor").
func ParseQuality(level string) Quality {
	switch level {
	case "good":
		return QualityGood
	case "fair":
		return QualityFair
	case "poor":
		return QualityPoor
	}
	return QualityUnknown
}

// VideoOffText says why a remote's video is off, for its tile ("" when on).
func VideoOffText(r Remote) string {
	switch r.VideoOff {
	case VideoOffSender:
		switch r.VideoOffReason {
		case ReasonBandwidth:
			return "Audio only — their connection is too poor for video"
		case ReasonCPU:
			return "Audio only — their computer is too busy for video"
		}
		return "Camera off"
	case VideoOffReceiver:
		return "Video paused here (tile not shown)"
	case VideoOffQuality:
		return "Poor connection — audio only"
	}
	return ""
}

// QualityLabel is the indicator's words: "Good", "Fair · jitter 40 ms",
// "Poor · loss 14%".
func QualityLabel(q Quality, reason string) string {
	var l string
	switch q {
	case QualityGood:
		l = "Good"
	case QualityFair:
		l = "Fair"
	case QualityPoor:
		l = "Poor"
	default:
		return "Connecting"
	}
	if reason != "" && q != QualityGood {
		l += " · " + reason
	}
	return l
}

// Tile limits: the grid shows at most MaxGridTiles remote tiles and the
// strip under a shared screen MaxStripTiles; the others are summed up in a
// "+N more" tile and their video is not fetched (the server is asked for
// none: a tile not shown costs no bandwidth or decoding).
const (
	MaxGridTiles  = 15
	MaxStripTiles = 5
)

// SetTileLimit overrides the tile limits (0: the defaults), e.g. for a
// small window or a test.
type SetTileLimit struct{ N int }

func (SetTileLimit) action() {}

// TileLimit is how many remote tiles are shown now.
func TileLimit(s State) int {
	switch {
	case s.TileLimit > 0:
		return s.TileLimit
	case s.ScreenFrom != "":
		return MaxStripTiles
	}
	return MaxGridTiles
}

// ShownRemotes splits the remotes (in joining order) into those with a
// tile and those summed up as "+N more".
func ShownRemotes(s State) (shown, hidden []string) {
	ids := SortedRemoteIDs(s)
	n := min(len(ids), TileLimit(s))
	return ids[:n], ids[n:]
}
