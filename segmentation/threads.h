#ifndef PODIUM_SEGMENTATION_THREADS_H
#define PODIUM_SEGMENTATION_THREADS_H
#ifdef __cplusplus
extern "C" {
#endif
void podium_set_num_threads(int n);
int podium_get_num_threads(void);
// podium_net_layer_id returns cv::dnn::Net::getLayerId(name) for a
// cv::dnn::Net* (gocv's C.Net), -1 when there is no such layer.
int podium_net_layer_id(void* net, const char* name);
// podium_register_hardswish registers the vectorised HardSwish layer
// (hardswish.cpp) over OpenCV's own, for every network loaded afterwards.
void podium_register_hardswish(void);
// podium_register_depthwise5x5 registers depthwise5.cpp's "Convolution"
// factory: OpenCV's own layer for every convolution except depthwise 5x5.
void podium_register_depthwise5x5(void);
#ifdef __cplusplus
}
#endif
#endif
