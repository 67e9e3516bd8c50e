package segmentation

// #include "threads.h"
import "C"

import "sync"

var registerHardSwish sync.Once

// useFastHardSwish replaces OpenCV's HardSwish layer, for networks loaded
// afterwards in this process, with hardswish.cpp's: the same function,
// computed with SSE2 instead of the scalar loop OpenCV 4.6 (Debian's SSE2
// baseline build) runs, which cost about 2 ms of a 7.7 ms forward pass of the
// 256x256 model (the layer is fused into the preceding convolution and
// evaluated stripe by stripe). It is a process-wide registration
// (cv::dnn::LayerFactory::registerLayer; the last registration wins).
func useFastHardSwish() {
	registerHardSwish.Do(func() { C.podium_register_hardswish() })
}
