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
const (
	TypeMediaState = "media-state" // MediaStateBody, both directions
	TypeSubscribe  = "subscribe"   // SubscribeBody, client to server
)

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
}
