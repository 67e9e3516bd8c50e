# Quality adaptation (issue 8): the ladder, the SFU's per-subscriber layers
# and the impaired-link tests (root: they make their own network
# namespaces, veth pair, nftables loss and tc tbf caps; about 2 minutes).
.PHONY: test-adapt test-impair
test-adapt:
	go test -race ./media/adapt ./media/sfu
test-impair: testdata
	go test -count=1 -v -run Impair ./internal/impairtest
