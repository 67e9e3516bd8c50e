// Package segmentation computes person-segmentation confidence masks for video
// frames with MediaPipe's selfie segmentation models (Apache-2.0), converted
// from TFLite to ONNX by segmentation/convert (`make model`), and run by
// OpenCV 4.6's DNN module through gocv.
//
// Pieces, each usable alone:
//
//   - [FindModel] locates a converted model file; [ValidateModel] checks one
//     before OpenCV sees it (gocv aborts the process on a model OpenCV cannot
//     parse).
//   - [Segmenter] runs one model on one frame: any size, RGBA/NRGBA/YCbCr or a
//     BGR gocv.Mat, to a [Mask] at the model's resolution.
//   - [Smoother] and [Refine] post-process masks over time and space.
//   - [Pool] runs N Segmenters on the newest frame only (frames are dropped,
//     never queued) and exposes per-stage timings for degrade logic.
//
// Loading a model registers two OpenCV layers of this package, process-wide:
// a vectorised HardSwish and a depthwise 5x5 convolution (OpenCV 4.6 as
// Debian builds it runs both slowly); PERFORMANCE.md has the figures.
//
// Model contract (from the TFLite files in npm @mediapipe/selfie_segmentation
// 0.1.1675465747, see ../shared/FACTS.md): input NCHW [1,3,H,W] float32 RGB in
// 0..1, with H x W = 256 x 256 (general) or 144 x 256 (landscape, H=144,
// W=256); output NCHW [1,1,H,W] float32 person confidence in 0..1 (already a
// sigmoid; no further activation).
package segmentation
