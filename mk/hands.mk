# Hand-raise queue at webinar scale (signaling/room, signaling/server,
# cmd/podium-load). Kept out of `make test`: 5,000 WebSocket clients plus a
# server process on loopback. A 200-attendee version runs in the tests
# (TestHandQueueLoadSmall).
# Extra flags: make bench-hands HANDS_FLAGS="-attendees 2000 -presenters 4 -json"
.PHONY: bench-hands
BENCH_TARGETS += bench-hands

bench-hands: deps
	$(GO) build -o $(BIN)/podium-load ./cmd/podium-load
	ulimit -n 20000 2>/dev/null || true; $(BIN)/podium-load $(HANDS_FLAGS)
