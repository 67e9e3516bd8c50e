package protocol

// Error codes for the server's limits.
const (
	// ErrRateLimited: the connection sends messages faster than the
	// server's per-connection limit; the message was dropped. A client that
	// keeps going is disconnected (WebSocket close 1008).
	ErrRateLimited = "rate_limited"
	// ErrServerFull: the server holds as many rooms as it is configured for.
	ErrServerFull = "server_full"
	// ErrTooManyTracks: a join or publish over the per-participant track limit.
	ErrTooManyTracks = "too_many_tracks"
)
