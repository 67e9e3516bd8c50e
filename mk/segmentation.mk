# Person-segmentation models (segmentation/, cmd/podium-model). The ONNX files
# are generated, never committed: see scripts/model.sh.
.PHONY: model
model: deps
	@bash scripts/model.sh

TEST_PREREQS += model
RUN_PREREQS += model
