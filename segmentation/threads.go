package segmentation

/*
#cgo pkg-config: opencv4
#cgo CXXFLAGS: --std=c++11
#include "threads.h"
*/
import "C"

// SetOpenCVThreads sets the size of OpenCV's global thread pool
// (cv::setNumThreads), the in-process equivalent of OPENCV_FOR_THREADS_NUM.
// It affects every OpenCV user in the process. n <= 0 restores OpenCV's
// default. OpenCV DNN 4.6 on this project's 2-core machines ran the 256x256
// model faster on 1 thread (4.2 ms) than on 2 (5.7 ms) (../shared/FACTS.md),
// so [NewPool] sets 1 unless told otherwise: parallelism comes from workers.
func SetOpenCVThreads(n int) {
	if n <= 0 {
		n = -1
	}
	C.podium_set_num_threads(C.int(n))
}

// OpenCVThreads returns cv::getNumThreads().
func OpenCVThreads() int { return int(C.podium_get_num_threads()) }
