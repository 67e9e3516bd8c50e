// A depthwise 5x5 convolution layer for OpenCV 4.6's DNN module (see layers.go
// for why). Registered as the "Convolution" layer factory, it
// lets OpenCV build every convolution as usual and takes over only
// depthwise 5x5 ones.
#include <opencv2/core.hpp>
#include <opencv2/dnn.hpp>
#include <opencv2/dnn/all_layers.hpp>
#include <opencv2/dnn/layer.hpp>
#include <vector>
#ifdef __SSE2__
#include <emmintrin.h>
#endif
#include "threads.h"

namespace {

using cv::dnn::LayerParams;
using cv::dnn::MatShape;

class PodiumDepthwise5x5Layer : public cv::dnn::Layer {
public:
    PodiumDepthwise5x5Layer(const LayerParams& params, int stride, int padT, int padL, int padB, int padR)
        : stride_(stride), padT_(padT), padL_(padL), padB_(padB), padR_(padR) {
        setParamsFrom(params);
        type = "PodiumDepthwise5x5";
        channels_ = blobs[0].size[0];
        weights_.assign(blobs[0].ptr<float>(), blobs[0].ptr<float>() + channels_ * 25);
        bias_.assign(channels_, 0.f);
        if (blobs.size() > 1 && blobs[1].total() == (size_t)channels_)
            for (int c = 0; c < channels_; c++) bias_[c] = blobs[1].ptr<float>()[c];
    }

    bool supportBackend(int backendId) CV_OVERRIDE { return backendId == cv::dnn::DNN_BACKEND_OPENCV; }

    bool getMemoryShapes(const std::vector<MatShape>& inputs, const int, std::vector<MatShape>& outputs,
                         std::vector<MatShape>&) const CV_OVERRIDE {
        CV_Assert(inputs.size() == 1 && inputs[0].size() == 4 && inputs[0][1] == channels_);
        MatShape out = inputs[0];
        out[2] = (inputs[0][2] + padT_ + padB_ - 5) / stride_ + 1;
        out[3] = (inputs[0][3] + padL_ + padR_ - 5) / stride_ + 1;
        outputs.assign(1, out);
        return false;
    }

    // As OpenCV's convolution: an empty layer clears the fused activation
    // (the network does that before it re-fuses, e.g. when a forward pass asks
    // for a different output); a second activation is refused.
    bool setActivation(const cv::Ptr<cv::dnn::ActivationLayer>& layer) CV_OVERRIDE {
        if (!activ_.empty() && !layer.empty()) return false;
        activ_ = layer;
        return !activ_.empty();
    }

    void forward(cv::InputArrayOfArrays inputs_arr, cv::OutputArrayOfArrays outputs_arr,
                 cv::OutputArrayOfArrays) CV_OVERRIDE {
        std::vector<cv::Mat> inputs, outputs;
        inputs_arr.getMatVector(inputs);
        outputs_arr.getMatVector(outputs);
        const cv::Mat& in = inputs[0];
        cv::Mat& out = outputs[0];
        CV_Assert(in.type() == CV_32F && in.isContinuous() && out.isContinuous());
        const int N = in.size[0], H = in.size[2], W = in.size[3];
        const int Ho = out.size[2], Wo = out.size[3];
        const int C = channels_;
        cv::parallel_for_(cv::Range(0, N * C), [&](const cv::Range& r) {
            const int Hp = H + padT_ + padB_, Wp = W + padL_ + padR_;
            std::vector<float> pad((size_t)Hp * Wp + 8, 0.f); // +8: vector loads past a row end
            for (int nc = r.start; nc < r.end; nc++) {
                const int c = nc % C;
                const float* src = in.ptr<float>() + (size_t)nc * H * W;
                float* dst = out.ptr<float>() + (size_t)nc * Ho * Wo;
                for (int y = 0; y < H; y++)
                    std::copy(src + y * W, src + (y + 1) * W, pad.data() + (size_t)(y + padT_) * Wp + padL_);
                plane(pad.data(), Wp, &weights_[c * 25], bias_[c], dst, Ho, Wo);
                if (activ_)
                    activ_->forwardSlice(dst, dst, Ho * Wo, (size_t)Ho * Wo, c, c + 1);
            }
        });
    }

private:
    // plane computes one output channel from the zero-padded input p (row
    // length wp).
    void plane(const float* p, int wp, const float* k, float b, float* dst, int ho, int wo) const {
        const int s = stride_;
        for (int oy = 0; oy < ho; oy++) {
            float* o = dst + (size_t)oy * wo;
            int ox = 0;
#ifdef __SSE2__
            for (; ox + 4 <= wo; ox += 4) {
                __m128 acc = _mm_set1_ps(b);
                for (int ky = 0; ky < 5; ky++) {
                    const float* row = p + (size_t)(oy * s + ky) * wp + ox * s;
                    for (int kx = 0; kx < 5; kx++) {
                        __m128 v;
                        if (s == 1) {
                            v = _mm_loadu_ps(row + kx);
                        } else { // s == 2: elements 0, 2, 4, 6
                            __m128 a = _mm_loadu_ps(row + kx), c = _mm_loadu_ps(row + kx + 4);
                            v = _mm_shuffle_ps(a, c, _MM_SHUFFLE(2, 0, 2, 0));
                        }
                        acc = _mm_add_ps(acc, _mm_mul_ps(v, _mm_set1_ps(k[ky * 5 + kx])));
                    }
                }
                _mm_storeu_ps(o + ox, acc);
            }
#endif
            for (; ox < wo; ox++) {
                float acc = b;
                for (int ky = 0; ky < 5; ky++) {
                    const float* row = p + (size_t)(oy * s + ky) * wp + ox * s;
                    for (int kx = 0; kx < 5; kx++) acc += row[kx] * k[ky * 5 + kx];
                }
                o[ox] = acc;
            }
        }
    }

    int stride_, padT_, padL_, padB_, padR_, channels_;
    std::vector<float> weights_, bias_;
    cv::Ptr<cv::dnn::ActivationLayer> activ_;
};

// createConvolution builds OpenCV's own convolution layer (which parses the
// parameters) and replaces it by PodiumDepthwise5x5Layer when it is a plain
// depthwise 5x5 convolution: weights [C,1,5,5], group C, no dilation, stride
// 1 or 2 in both axes, symmetric explicit pads (OpenCV's importer has already
// moved asymmetric ones into a Padding layer).
cv::Ptr<cv::dnn::Layer> createConvolution(LayerParams& params) {
    cv::Ptr<cv::dnn::BaseConvolutionLayer> cv_layer = cv::dnn::ConvolutionLayer::create(params);
    const cv::dnn::BaseConvolutionLayer& l = *cv_layer;
    if (params.blobs.empty() || params.blobs[0].dims != 4 || params.blobs[0].type() != CV_32F ||
        !params.blobs[0].isContinuous())
        return cv_layer;
    const cv::Mat& w = params.blobs[0];
    const int C = w.size[0];
    bool ok = w.size[1] == 1 && w.size[2] == 5 && w.size[3] == 5 && params.get<int>("group", 1) == C &&
              l.numOutput == C && l.kernel_size.size() == 2 && l.kernel_size[0] == 5 && l.kernel_size[1] == 5 &&
              l.dilations.size() == 2 && l.dilations[0] == 1 && l.dilations[1] == 1 && l.padMode.empty() &&
              l.strides.size() == 2 && l.strides[0] == l.strides[1] && (l.strides[0] == 1 || l.strides[0] == 2) &&
              l.pads_begin.size() == 2 && l.pads_end.size() == 2 && l.pads_begin[0] <= 4 && l.pads_begin[1] <= 4 &&
              l.pads_end[0] <= 4 && l.pads_end[1] <= 4 &&
              (params.blobs.size() == 1 || (params.blobs.size() == 2 && params.blobs[1].total() == (size_t)C &&
                                            params.blobs[1].type() == CV_32F));
    if (!ok)
        return cv_layer;
    return cv::Ptr<cv::dnn::Layer>(new PodiumDepthwise5x5Layer(params, (int)l.strides[0], (int)l.pads_begin[0],
                                                                (int)l.pads_begin[1], (int)l.pads_end[0],
                                                                (int)l.pads_end[1]));
}

} // namespace

void podium_register_depthwise5x5(void) {
    cv::dnn::LayerFactory::registerLayer("Convolution", createConvolution);
}
