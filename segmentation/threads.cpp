#include <opencv2/core.hpp>
#include <opencv2/dnn.hpp>
#include "threads.h"

// cv::setNumThreads and getNumThreads do not throw.
void podium_set_num_threads(int n) { cv::setNumThreads(n); }
int podium_get_num_threads(void) { return cv::getNumThreads(); }

int podium_net_layer_id(void* net, const char* name) {
    try {
        return static_cast<cv::dnn::Net*>(net)->getLayerId(name);
    } catch (...) {
        return -1;
    }
}
