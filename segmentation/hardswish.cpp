// A vectorised HardSwish layer for OpenCV 4.6's DNN module, registered over
// the built-in one (see layers.go for why).
#include <opencv2/core.hpp>
#include <opencv2/dnn.hpp>
#include <opencv2/dnn/all_layers.hpp>
#include <opencv2/dnn/layer.hpp>
#include <algorithm>
#ifdef __SSE2__
#include <emmintrin.h>
#endif
#include "threads.h"

namespace {

// y = x * clamp(x/6 + 1/2, 0, 1), the ONNX HardSwish.
void hardSwish(const float* s, float* d, size_t n) {
    size_t i = 0;
#ifdef __SSE2__
    const __m128 k = _mm_set1_ps(1.f / 6), h = _mm_set1_ps(0.5f), z = _mm_setzero_ps(), one = _mm_set1_ps(1.f);
    for (; i + 8 <= n; i += 8) {
        __m128 x0 = _mm_loadu_ps(s + i), x1 = _mm_loadu_ps(s + i + 4);
        __m128 g0 = _mm_min_ps(_mm_max_ps(_mm_add_ps(_mm_mul_ps(x0, k), h), z), one);
        __m128 g1 = _mm_min_ps(_mm_max_ps(_mm_add_ps(_mm_mul_ps(x1, k), h), z), one);
        _mm_storeu_ps(d + i, _mm_mul_ps(x0, g0));
        _mm_storeu_ps(d + i + 4, _mm_mul_ps(x1, g1));
    }
#endif
    for (; i < n; i++) {
        float x = s[i];
        d[i] = x * std::min(1.f, std::max(0.f, x * (1.f / 6) + 0.5f));
    }
}

class PodiumHardSwishLayer : public cv::dnn::ActivationLayer {
public:
    explicit PodiumHardSwishLayer(const cv::dnn::LayerParams& params) { setParamsFrom(params); }

    static cv::Ptr<cv::dnn::Layer> create(cv::dnn::LayerParams& params) {
        return cv::Ptr<cv::dnn::Layer>(new PodiumHardSwishLayer(params));
    }

    bool supportBackend(int backendId) CV_OVERRIDE { return backendId == cv::dnn::DNN_BACKEND_OPENCV; }

    bool getMemoryShapes(const std::vector<cv::dnn::MatShape>& inputs, const int requiredOutputs,
                         std::vector<cv::dnn::MatShape>& outputs,
                         std::vector<cv::dnn::MatShape>& internals) const CV_OVERRIDE {
        outputs.assign(inputs.begin(), inputs.end());
        return true; // may run in place
    }

    void forward(cv::InputArrayOfArrays inputs_arr, cv::OutputArrayOfArrays outputs_arr,
                 cv::OutputArrayOfArrays) CV_OVERRIDE {
        std::vector<cv::Mat> inputs, outputs;
        inputs_arr.getMatVector(inputs);
        outputs_arr.getMatVector(outputs);
        for (size_t i = 0; i < inputs.size(); i++) {
            CV_Assert(inputs[i].type() == CV_32F && inputs[i].isContinuous() && outputs[i].isContinuous() &&
                      inputs[i].total() == outputs[i].total());
            hardSwish(inputs[i].ptr<float>(), outputs[i].ptr<float>(), inputs[i].total());
        }
    }

    // Called by a convolution this layer is fused into, on each output stripe.
    void forwardSlice(const float* src, float* dst, int len, size_t planeSize, int cn0, int cn1) const CV_OVERRIDE {
        for (int c = cn0; c < cn1; c++, src += planeSize, dst += planeSize)
            hardSwish(src, dst, (size_t)len);
    }
};

} // namespace

void podium_register_hardswish(void) {
    cv::dnn::LayerFactory::registerLayer("HardSwish", PodiumHardSwishLayer::create);
}
