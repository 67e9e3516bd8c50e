package segmentation

// #include "threads.h"
import "C"

import "sync"

var registerOnce sync.Once

// registerLayers replaces two of OpenCV 4.6's DNN layers, for networks
// loaded afterwards in this process, with faster ones computing the same
// functions (cv::dnn::LayerFactory::registerLayer; the last registration of a
// type wins, so this is process-wide):
//
//   - HardSwish (hardswish.cpp): SSE2 instead of the scalar loop OpenCV 4.6
//     runs (Debian builds it with an SSE2 baseline; only convolution kernels
//     are dispatched to AVX2/AVX-512). Fused into the preceding convolutions,
//     the scalar loop cost about 2 ms of a 7.7 ms forward pass of the
//     256x256 model.
//   - Convolution (depthwise5.cpp): OpenCV builds its own layer for every
//     convolution except depthwise 5x5 ones, which get an SSE2 layer; OpenCV
//     4.6 runs them as im2row plus a GEMM per channel (0.27-0.39 ms each at
//     16x16 with 96-128 channels, five per model).
//
// The converter test checks the results against an independent evaluation
// of the TFLite graph; PERFORMANCE.md has the measurements.
func registerLayers() {
	registerOnce.Do(func() {
		C.podium_register_hardswish()
		C.podium_register_depthwise5x5()
	})
}
