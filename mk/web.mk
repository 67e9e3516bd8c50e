# Browser client (internal/web, served by podiumd at /) and its test in
# Debian's Chromium (internal/browsertest; chromium comes from `make deps`).
# TestChromium is part of `make test`; this target runs it alone.
.PHONY: test-web
test-web: deps testdata
	PODIUM_ARTIFACTS=$(CURDIR)/artifacts $(GO) test -count=1 -run Chromium -v ./internal/browsertest/
