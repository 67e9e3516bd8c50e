package room

// Clock estimates one client's clock offset (server - client, ms) NTP-style
// from ping samples (RFC 5905's minimum-delay filter, simplified): for a
// ping sent at client time c that arrived at server time s, with the round
// trip r the client measured on its previous ping, the sample is
// s - c - r/2; the estimate is the sample with the lowest r among the last
// ClockWindow. A join's client time gives a first sample with unknown r.
// The estimate only shifts a hand inside the bound HandTime enforces, so a
// lying client gains nothing.
type Clock struct {
	samples [ClockWindow]clockSample
	n, next int
}

// ClockWindow is how many recent samples Clock keeps.
const ClockWindow = 8

// maxRTTMs is the largest round trip accepted as a measurement (ms).
const maxRTTMs = 10_000

type clockSample struct {
	offset, rtt int64
}

// unknownRTT ranks samples without a measured round trip last.
const unknownRTT = maxRTTMs + 1

// Add records a sample: clientMs the client's send time (client clock),
// serverMs its arrival (server clock), rttMs the client's measured round
// trip (ms; <= 0 or over 10 s: unknown).
func (c *Clock) Add(clientMs, serverMs, rttMs int64) {
	const lim = int64(1) << 52
	clientMs = min(max(clientMs, -lim), lim)
	if rttMs <= 0 || rttMs > maxRTTMs {
		rttMs = unknownRTT
	}
	half := rttMs / 2
	if rttMs == unknownRTT {
		half = 0
	}
	c.samples[c.next] = clockSample{offset: serverMs - clientMs - half, rtt: rttMs}
	c.next = (c.next + 1) % ClockWindow
	if c.n < ClockWindow {
		c.n++
	}
}

// OffsetMs is the current estimate (server - client, ms; 0 with no sample)
// and the round trip of the sample it came from (ms; 0 if unknown).
func (c *Clock) OffsetMs() (offset, rtt int64) {
	best := -1
	for i := 0; i < c.n; i++ {
		if best < 0 || c.samples[i].rtt < c.samples[best].rtt {
			best = i
		}
	}
	if best < 0 {
		return 0, 0
	}
	r := c.samples[best].rtt
	if r == unknownRTT {
		r = 0
	}
	return c.samples[best].offset, r
}
