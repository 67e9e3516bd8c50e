# GPU compositor (gpu/, cmd/podium-compbench). Included by the top Makefile.
.PHONY: bench-compositor test-gpu
BENCH_TARGETS += bench-compositor

# Side-by-side GPU (EGL/OpenGL, llvmpipe without a GPU) vs CPU fallback,
# 1280x720 blur and replacement: median and p95 ms per frame and the ratio.
# Extra flags: make bench-compositor COMPBENCH_FLAGS="-n 300 -effects blur,replace,blur+wrap"
bench-compositor: deps testdata
	$(GO) run ./cmd/podium-compbench $(COMPBENCH_FLAGS)

test-gpu: deps testdata
	$(GO) test -race -count=1 ./gpu/...
