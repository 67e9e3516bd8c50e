// Package impairtest runs Podium calls over real impaired links (network
// namespaces made by the test, nftables loss, tc tbf caps). Its test is
// built with -tags impair: see mk/adapt.mk.
package impairtest
