// Package impairtest runs Podium calls over real impaired links (network
// namespaces made by the test, nftables loss, tc tbf caps; root only) and
// over pion's virtual network (delay, jitter, a UDP blackout).
package impairtest
