package room

// Clock estimates one client's clock offset (server - client, ms) as NTP
// does (RFC 5905, on-wire protocol with the minimum-delay filter,
// simplified): a ping exchange the client completed (sent at client time
// c0, answered with server time s, pong received at client time c1) gives
// the sample s - (c0+c1)/2 with round trip c1 - c0; its error is at most
// half the round trip. The estimate is the sample with the lowest round
// trip among the last ClockWindow. A join's client time gives a first
// sample of arrival - client time, with unknown round trip (ranked last).
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

// unknownRTT ranks one-way samples last.
const unknownRTT = maxRTTMs + 1

const clockLim = int64(1) << 52

func clampClock(v int64) int64 { return min(max(v, -clockLim), clockLim) }

func (c *Clock) add(offset, rtt int64) {
	c.samples[c.next] = clockSample{offset: offset, rtt: rtt}
	c.next = (c.next + 1) % ClockWindow
	if c.n < ClockWindow {
		c.n++
	}
}

// AddOneWay records a message sent at clientMs (client clock) that arrived
// at serverMs (server clock): offset serverMs - clientMs, round trip unknown.
func (c *Clock) AddOneWay(clientMs, serverMs int64) {
	c.add(clampClock(serverMs)-clampClock(clientMs), unknownRTT)
}

// AddExchange records a completed ping: sent at c0 and pong received at c1
// (client clock, ms), answered with server time s (ms). A negative or over
// 10 s round trip is ignored.
func (c *Clock) AddExchange(c0, s, c1 int64) {
	c0, s, c1 = clampClock(c0), clampClock(s), clampClock(c1)
	rtt := c1 - c0
	if rtt < 0 || rtt > maxRTTMs {
		return
	}
	c.add(s-c0-rtt/2, rtt)
}

// OffsetMs is the current estimate (server - client, ms; 0 with no sample)
// and the round trip of the sample it came from (ms; -1 if unknown).
func (c *Clock) OffsetMs() (offset, rtt int64) {
	best := -1
	for i := 0; i < c.n; i++ {
		if best < 0 || c.samples[i].rtt < c.samples[best].rtt {
			best = i
		}
	}
	if best < 0 {
		return 0, -1
	}
	r := c.samples[best].rtt
	if r == unknownRTT {
		r = -1
	}
	return c.samples[best].offset, r
}
