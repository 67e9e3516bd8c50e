# Virtual-background publish path (media/vbg, cmd/podium-pubbench). Included
# by the top Makefile.
.PHONY: bench-publish test-vbg
BENCH_TARGETS += bench-publish

# Whole publish path at 1280x720, 30 fps from testdata/opencv/Megamind.avi:
# no effect, blur and replacement side by side (fps, capture->encoded
# latency p50/p95, CPU). Extra flags: make bench-publish PUBBENCH_FLAGS="-seconds 20"
bench-publish: deps testdata model
	$(GO) run ./cmd/podium-pubbench $(PUBBENCH_FLAGS)

test-vbg: deps testdata model
	$(GO) test -race -count=1 ./media/vbg/...
