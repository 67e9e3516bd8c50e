# Soak (cmd/podium-soak): 200 participants joining, chatting, raising hands,
# leaving and reconnecting (every connection cut every 5 s) for 10 minutes
# against podiumd on loopback, rooms kept in a room store (signaling/roomlog)
# in a temporary state directory. Reports goroutines, heap, RSS and fds at
# the start, peak and end; exits non-zero when at the end goroutines or fds
# grew by more than 20, the heap by more than 32 MiB, RSS by more than
# 64 MiB, or a room or room log is left over. Kept out of `make test` (10
# minutes); TestSoakShort runs the same for 30 s there.
# Other settings: make soak SOAK_FLAGS="-participants 500 -duration 30m"
.PHONY: soak
SOAK_FLAGS ?=

soak: deps
	$(GO) build -o $(BIN)/podium-soak ./cmd/podium-soak
	ulimit -n 20000 2>/dev/null || true; $(BIN)/podium-soak -participants 200 -duration 10m $(SOAK_FLAGS)
