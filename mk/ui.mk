# Desktop app (ui/, cmd/podium). Included by the top Makefile.
.PHONY: bench-ui test-ui
BENCH_TARGETS += bench-ui

# CPU and memory of the window with 1, 4 and 9 remote 640x480 tiles at
# 30 fps (VP8 decode + conversion + Fyne painting), under Xvfb when there is
# no display. Extra flags: make bench-ui BENCH_UI_FLAGS="--bench-time 20s"
bench-ui: build testdata
	@if [ -z "$${DISPLAY:-}" ]; then \
	  xvfb-run -a -s "-screen 0 1280x800x24" $(BIN)/podium --bench-ui 1,4,9 --video testdata/opencv/vtest.avi $(BENCH_UI_FLAGS); \
	else $(BIN)/podium --bench-ui 1,4,9 --video testdata/opencv/vtest.avi $(BENCH_UI_FLAGS); fi

# The app's screenshot and receive-path tests alone.
test-ui: deps testdata
	@if [ -z "$${DISPLAY:-}" ]; then xvfb-run -a -s "-screen 0 1280x800x24" env PODIUM_ARTIFACTS=$(CURDIR)/artifacts $(GO) test -count=1 ./ui/... ; \
	else PODIUM_ARTIFACTS=$(CURDIR)/artifacts $(GO) test -count=1 ./ui/...; fi
