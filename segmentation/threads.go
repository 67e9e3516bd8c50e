package segmentation

/*
#cgo pkg-config: opencv4
#cgo CXXFLAGS: --std=c++11
#include <stdlib.h>
#include "threads.h"
*/
import "C"

import (
	"unsafe"

	"gocv.io/x/gocv"
)

// SetOpenCVThreads sets the size of OpenCV's global thread pool
// (cv::setNumThreads), the in-process equivalent of OPENCV_FOR_THREADS_NUM.
// It affects every OpenCV user in the process. n <= 0 restores OpenCV's
// default. [NewPool] sets 1 unless told otherwise (parallelism comes from
// workers); see PERFORMANCE.md for the measurements behind that choice.
func SetOpenCVThreads(n int) {
	if n <= 0 {
		n = -1
	}
	C.podium_set_num_threads(C.int(n))
}

// OpenCVThreads returns cv::getNumThreads().
func OpenCVThreads() int { return int(C.podium_get_num_threads()) }

// hasLayer reports whether net has a layer with this name
// (cv::dnn::Net::getLayerId >= 0). OpenCV aborts the process when Forward
// is asked for a layer it lacks, and gocv 0.31's GetLayerNames returns
// strings whose memory is already freed, hence this shim. It relies on
// gocv.Net holding only the cv::dnn::Net pointer (true for gocv v0.31.0,
// checked by size) and reports false otherwise.
func hasLayer(net *gocv.Net, name string) bool {
	if unsafe.Sizeof(*net) != unsafe.Sizeof(unsafe.Pointer(nil)) || net.Empty() {
		return false
	}
	p := *(*unsafe.Pointer)(unsafe.Pointer(net))
	cs := C.CString(name)
	defer C.free(unsafe.Pointer(cs))
	return C.podium_net_layer_id(p, cs) >= 0
}
