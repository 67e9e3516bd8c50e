# Person-segmentation models (segmentation/, cmd/podium-model). The ONNX files
# are generated, never committed: see scripts/model.sh.
.PHONY: model bench-segmentation
model: deps
	@bash scripts/model.sh

# Inference per model, pre/post-processing, pool throughput and the 720p30
# pool cost at 1 and 2 workers (figures: segmentation/PERFORMANCE.md).
bench-segmentation: deps testdata model
	$(GO) test -run '^$$' -bench . -benchtime 2s ./segmentation/

TEST_PREREQS += model
RUN_PREREQS += model
