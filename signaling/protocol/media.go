package protocol

// Media quality messages (issue 8).
//
//	media-state  client -> server: one of the sender's own tracks went off
//	             or came back, and why; the server relays it to everyone
//	             else in the room with From set.
//	subscribe    client -> server: the layer a subscriber wants of one
//	             remote track ("high", "low" or "none": a tile off screen
//	             asks for "none"); the SFU stops or resumes forwarding that
//	             track to this subscriber only.
//	quality-warning server -> publisher: what the SFU receives from the
//	             publisher shows it cannot keep up its video (reason
//	             "bandwidth": uplink loss; "cpu": frame rate far below what
//	             it announced); the publisher steps down its ladder.
const (
	TypeMediaState     = "media-state"     // MediaStateBody, both directions
	TypeSubscribe      = "subscribe"       // SubscribeBody, client to server
	TypeQualityWarning = "quality-warning" // QualityWarningBody, server to publisher
)

// QualityWarningBody tells a publisher that one of its tracks arrives
// degraded at the SFU.
type QualityWarningBody struct {
	Track  string `json:"track"`  // the publisher's track id ("camera")
	Reason string `json:"reason"` // ReasonBandwidth or ReasonCPU
	// LossPct is the uplink packet loss seen by the SFU over the last
	// window (percent); FPS the frame rate received (frames/s).
	LossPct float64 `json:"lossPct,omitempty"`
	FPS     float64 `json:"fps,omitempty"`
}

// Reasons a track is off.
const (
	ReasonUser      = "user"      // the sender turned it off (mute)
	ReasonBandwidth = "bandwidth" // the sender's link cannot carry it (audio only)
	ReasonCPU       = "cpu"       // the sender's computer cannot encode it
)

// MediaStateBody says one track of From is off or on.
type MediaStateBody struct {
	From   string `json:"from,omitempty"` // set by the server
	Track  string `json:"track"`          // the sender's track id ("camera")
	Off    bool   `json:"off"`
	Reason string `json:"reason,omitempty"`
}

// Subscription layers.
const (
	LayerHigh = "high"
	LayerLow  = "low"
	LayerNone = "none"
)

// SubscribeBody asks for a layer of one remote track; Track is the track's
// id as the subscriber sees it ("<publisher>:<track>").
type SubscribeBody struct {
	Track string `json:"track"`
	Layer string `json:"layer"`
}

func init() {
	knownTypes[TypeMediaState] = true
	knownTypes[TypeSubscribe] = true
	knownTypes[TypeQualityWarning] = true
	knownTypes[TypeICERestart] = true
}
