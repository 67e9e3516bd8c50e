#include <opencv2/core.hpp>
#include "threads.h"

// cv::setNumThreads and getNumThreads do not throw.
void podium_set_num_threads(int n) { cv::setNumThreads(n); }
int podium_get_num_threads(void) { return cv::getNumThreads(); }
