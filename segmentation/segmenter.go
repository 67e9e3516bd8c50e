package segmentation

import (
	"errors"
	"fmt"
	"image"
	"image/draw"
	"io"
	"math"
	"os"

	"gocv.io/x/gocv"
)

// Segmenter runs one segmentation model on single frames. It owns one
// gocv.Net and scratch Mats, so it is not safe for concurrent use: give each
// goroutine its own (as [Pool] does). Close it to free OpenCV memory.
//
// Preprocessing (as MediaPipe's ImageToTensorCalculator, except for the
// resampling filter): the whole frame is resized to the model's W x H without
// keeping the aspect ratio, converted to RGB and scaled to 0..1 (x/255), and
// laid out NCHW [1,3,H,W]. Resizing uses box averaging (cv::INTER_AREA),
// which for downscaling aliases less than MediaPipe's bilinear sampling and so
// flickers less on noisy video; frames more than twice the model size are
// first brought to 2W x 2H bilinearly (cv::INTER_LINEAR) and then box-averaged
// 2:1, which costs about 0.35 ms instead of 2.4 ms for a 1280x720 RGBA frame.
type Segmenter struct {
	net           gocv.Net
	w, h          int
	input, output string
	// logits is the input of the model's final Sigmoid (see Infer), or "".
	logits string

	resized gocv.Mat // model-size 8-bit, 4 or 3 channels
	mid     gocv.Mat // 2W x 2H intermediate of downscale
	rgb     gocv.Mat // model-size 8UC3 RGB, the network's input before scaling
	planes  [3]gocv.Mat
	blob    gocv.Mat
	ready   bool // rgb holds a prepared frame
}

// NewSegmenter validates the ONNX model at modelPath with [ValidateModelBytes]
// and loads those same bytes into OpenCV's DNN module (CPU target, OpenCV
// backend). A missing file gives an error naming `make model`; an invalid
// model an error wrapping [ErrInvalidModel]; OpenCV is never handed a file
// that failed validation.
func NewSegmenter(modelPath string) (*Segmenter, error) {
	f, err := os.Open(modelPath)
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return nil, fmt.Errorf("%w: %v", ErrModelNotFound, err)
		}
		return nil, err
	}
	data, err := io.ReadAll(io.LimitReader(f, MaxModelBytes+1))
	f.Close()
	if err != nil {
		return nil, err
	}
	info, err := checkModel(data)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", modelPath, err)
	}
	registerLayers()
	net, err := gocv.ReadNetFromONNXBytes(data)
	if err != nil {
		return nil, fmt.Errorf("%s: OpenCV could not load the model: %w", modelPath, err)
	}
	if net.Empty() {
		net.Close()
		return nil, fmt.Errorf("%s: OpenCV returned an empty network", modelPath)
	}
	// OpenCV aborts the process when asked for a layer it does not have, so
	// the logits layer is used only under a name the network lists.
	logits := ""
	if len(info.logitsNodes) > 0 {
		for _, n := range info.logitsNodes {
			if hasLayer(&net, n) {
				logits = n
				break
			}
		}
	}
	_ = net.SetPreferableBackend(gocv.NetBackendOpenCV)
	_ = net.SetPreferableTarget(gocv.NetTargetCPU)
	s := &Segmenter{
		net: net, w: info.w, h: info.h, input: info.input, output: info.output, logits: logits,
		resized: gocv.NewMat(), mid: gocv.NewMat(), rgb: gocv.NewMat(), blob: gocv.NewMat(),
	}
	for i := range s.planes {
		s.planes[i] = gocv.NewMat()
	}
	return s, nil
}

// Size returns the model's input (and mask) size, W x H.
func (s *Segmenter) Size() (w, h int) { return s.w, s.h }

// Close releases the network and scratch memory.
func (s *Segmenter) Close() error {
	s.resized.Close()
	s.mid.Close()
	s.rgb.Close()
	s.blob.Close()
	for i := range s.planes {
		s.planes[i].Close()
	}
	return s.net.Close()
}

// Segment returns the confidence mask (W x H of the model) for img, which may
// be any size. *image.RGBA, *image.NRGBA (alpha ignored) and *image.YCbCr
// (JFIF full-range, any subsampling) are converted without a full-size copy;
// other image types are first drawn into an RGBA image. An empty image is an
// error.
func (s *Segmenter) Segment(img image.Image) (Mask, error) {
	if err := s.Prepare(img); err != nil {
		return Mask{}, err
	}
	return s.Infer()
}

// SegmentMat is [Segmenter.Segment] for an 8-bit 3-channel BGR gocv.Mat
// (OpenCV's native order, e.g. from gocv.VideoCapture).
func (s *Segmenter) SegmentMat(bgr gocv.Mat) (Mask, error) {
	if err := s.PrepareMat(bgr); err != nil {
		return Mask{}, err
	}
	return s.Infer()
}

// Prepare runs the preprocessing stage alone: it resizes and converts img
// into the model-size RGB frame that [Segmenter.Infer] consumes.
func (s *Segmenter) Prepare(img image.Image) error {
	s.ready = false
	r := img.Bounds()
	if r.Empty() {
		return errors.New("segmentation: empty image")
	}
	switch m := img.(type) {
	case *image.RGBA:
		return s.prepareRGBA(m.Pix, m.PixOffset(r.Min.X, r.Min.Y), m.Stride, r.Dx(), r.Dy())
	case *image.NRGBA:
		return s.prepareRGBA(m.Pix, m.PixOffset(r.Min.X, r.Min.Y), m.Stride, r.Dx(), r.Dy())
	case *image.YCbCr:
		cr := chromaRect(r, m.SubsampleRatio)
		if cr.Empty() {
			break
		}
		yOff := m.YOffset(r.Min.X, r.Min.Y)
		cOff := m.COffset(r.Min.X, r.Min.Y)
		planes := []struct {
			pix         []byte
			off, stride int
			w, h        int
			dst         *gocv.Mat
		}{
			{m.Y, yOff, m.YStride, r.Dx(), r.Dy(), &s.planes[0]},
			{m.Cr, cOff, m.CStride, cr.Dx(), cr.Dy(), &s.planes[1]},
			{m.Cb, cOff, m.CStride, cr.Dx(), cr.Dy(), &s.planes[2]},
		}
		for _, p := range planes {
			src, err := planeMat(p.pix, p.off, p.stride, p.w, p.h, 1)
			if err != nil {
				return err
			}
			s.downscale(src, p.dst)
			src.Close()
		}
		gocv.Merge(s.planes[:], &s.resized)
		gocv.CvtColor(s.resized, &s.rgb, gocv.ColorYCrCbToRGB)
		s.ready = true
		return nil
	}
	rgba := image.NewRGBA(image.Rect(0, 0, r.Dx(), r.Dy()))
	draw.Draw(rgba, rgba.Bounds(), img, r.Min, draw.Src)
	return s.prepareRGBA(rgba.Pix, 0, rgba.Stride, r.Dx(), r.Dy())
}

// PrepareMat is [Segmenter.Prepare] for an 8-bit BGR (3-channel) or BGRA
// (4-channel) gocv.Mat.
func (s *Segmenter) PrepareMat(bgr gocv.Mat) error {
	s.ready = false
	if bgr.Empty() {
		return errors.New("segmentation: empty Mat")
	}
	code := gocv.ColorBGRToRGB
	switch bgr.Type() {
	case gocv.MatTypeCV8UC3:
	case gocv.MatTypeCV8UC4:
		code = gocv.ColorRGBAToBGR // COLOR_BGRA2RGB (same code 3): drop alpha, swap R and B
	default:
		return fmt.Errorf("segmentation: Mat type %v, want 8-bit BGR or BGRA", bgr.Type())
	}
	s.downscale(bgr, &s.resized)
	gocv.CvtColor(s.resized, &s.rgb, code)
	s.ready = true
	return nil
}

func (s *Segmenter) prepareRGBA(pix []byte, off, stride, w, h int) error {
	src, err := planeMat(pix, off, stride, w, h, 4)
	if err != nil {
		return err
	}
	s.downscale(src, &s.resized)
	src.Close()
	// RGBA -> RGB: OpenCV's BGRA2BGR code just drops the 4th channel.
	gocv.CvtColor(s.resized, &s.rgb, gocv.ColorBGRAToBGR)
	s.ready = true
	return nil
}

// downscale resizes src to the model size (see the Segmenter doc).
func (s *Segmenter) downscale(src gocv.Mat, dst *gocv.Mat) {
	size := image.Pt(s.w, s.h)
	if src.Cols() > 2*s.w && src.Rows() > 2*s.h {
		gocv.Resize(src, &s.mid, image.Pt(2*s.w, 2*s.h), 0, 0, gocv.InterpolationLinear)
		gocv.Resize(s.mid, dst, size, 0, 0, gocv.InterpolationArea)
		return
	}
	gocv.Resize(src, dst, size, 0, 0, gocv.InterpolationArea)
}

// planeMat wraps w x h pixels of ch channels starting at pix[off] with the
// given row stride as a Mat, without copying when the rows fit the slice. The
// Mat references pix: the caller must keep pix unchanged until it is closed.
func planeMat(pix []byte, off, stride, w, h, ch int) (gocv.Mat, error) {
	typ := gocv.MatTypeCV8UC1
	if ch == 4 {
		typ = gocv.MatTypeCV8UC4
	}
	if off < 0 || stride < w*ch || off+(h-1)*stride+w*ch > len(pix) {
		return gocv.Mat{}, errors.New("segmentation: image buffer smaller than its bounds")
	}
	if stride%ch == 0 && off+h*stride <= len(pix) {
		full, err := gocv.NewMatFromBytes(h, stride/ch, typ, pix[off:off+h*stride])
		if err != nil {
			return gocv.Mat{}, err
		}
		if stride == w*ch {
			return full, nil
		}
		region := full.Region(image.Rect(0, 0, w, h))
		full.Close() // region keeps the data reference (cv::Mat refcount)
		return region, nil
	}
	tight := make([]byte, w*ch*h)
	for y := 0; y < h; y++ {
		copy(tight[y*w*ch:(y+1)*w*ch], pix[off+y*stride:])
	}
	return gocv.NewMatFromBytes(h, w, typ, tight)
}

// chromaRect returns the chroma-plane rectangle for luma rectangle r, as
// image.YCbCr lays it out (image/ycbcr.go).
func chromaRect(r image.Rectangle, ratio image.YCbCrSubsampleRatio) image.Rectangle {
	x0, y0, x1, y1 := r.Min.X, r.Min.Y, r.Max.X, r.Max.Y
	switch ratio {
	case image.YCbCrSubsampleRatio422:
		x0, x1 = x0/2, (x1+1)/2
	case image.YCbCrSubsampleRatio420:
		x0, x1, y0, y1 = x0/2, (x1+1)/2, y0/2, (y1+1)/2
	case image.YCbCrSubsampleRatio440:
		y0, y1 = y0/2, (y1+1)/2
	case image.YCbCrSubsampleRatio411:
		x0, x1 = x0/4, (x1+3)/4
	case image.YCbCrSubsampleRatio410:
		x0, x1, y0, y1 = x0/4, (x1+3)/4, y0/2, (y1+1)/2
	case image.YCbCrSubsampleRatio444:
	default:
		return image.Rectangle{}
	}
	return image.Rect(x0, y0, x1, y1)
}

// RGB copies the model-size RGB frame of the last Prepare (W*H*3 bytes,
// row-major, 0..255) into dst, growing it as needed, and returns it.
func (s *Segmenter) RGB(dst []byte) []byte {
	n := s.w * s.h * 3
	if cap(dst) < n {
		dst = make([]byte, n)
	}
	dst = dst[:n]
	if !s.ready {
		return dst
	}
	b, err := s.rgb.DataPtrUint8()
	if err == nil {
		copy(dst, b)
	}
	return dst
}

// Infer runs the network on the frame from the last Prepare and returns its
// mask (a fresh slice, values in 0..1).
//
// When the model ends in a Sigmoid (the converted selfie models do), the
// network is run only up to that layer's input and the logistic function is
// applied here, from a table with linear interpolation (max error 3e-6),
// while the values are copied out: OpenCV 4.6 (Debian's SSE2 baseline build)
// spends about 0.19 ms on the 65,536 exponentials of the 256x256 output.
func (s *Segmenter) Infer() (Mask, error) {
	m := Mask{W: s.w, H: s.h, Conf: make([]float32, s.w*s.h)}
	if err := s.InferInto(m.Conf); err != nil {
		return Mask{}, err
	}
	return m, nil
}

// InferInto is [Segmenter.Infer] writing the W*H confidences into dst, for
// callers that reuse a buffer.
func (s *Segmenter) InferInto(dst []float32) error {
	if !s.ready {
		return errors.New("segmentation: Infer without a prepared frame")
	}
	if len(dst) != s.w*s.h {
		return fmt.Errorf("segmentation: mask buffer has %d values, want %d", len(dst), s.w*s.h)
	}
	// The blob Mat is reused from frame to frame (cv::dnn::blobFromImages
	// writes into it when the shape is unchanged).
	gocv.BlobFromImages([]gocv.Mat{s.rgb}, &s.blob, 1.0/255, image.Pt(s.w, s.h), gocv.NewScalar(0, 0, 0, 0), false, false, gocv.MatTypeCV32F)
	s.net.SetInput(s.blob, "")
	out := s.net.Forward(s.logits)
	defer out.Close()
	v, err := out.DataPtrFloat32()
	if err != nil {
		return err
	}
	if len(v) != len(dst) {
		return fmt.Errorf("segmentation: network output has %d values, want %d", len(v), len(dst))
	}
	if s.logits != "" {
		sigmoidInto(dst, v)
		return nil
	}
	for i, c := range v {
		dst[i] = clamp01(c)
	}
	return nil
}

// Logistic-function table: sigTable[k] = 1/(1+exp(-x)) at x = sigLo + k/sigStep.
const (
	sigLo   = -16
	sigHi   = 16
	sigStep = 64
)

var sigTable = func() []float32 {
	t := make([]float32, (sigHi-sigLo)*sigStep+2)
	for k := range t {
		x := sigLo + float64(k)/sigStep
		t[k] = float32(1 / (1 + math.Exp(-x)))
	}
	return t
}()

// sigmoidInto sets dst[i] = 1/(1+exp(-x[i])) by linear interpolation in
// sigTable (error at most h^2/8 * max|f”| = 2.9e-6 for h = 1/64; outside
// [-16,16] the end values, within 1.2e-7 of 0 and 1; NaN gives 0).
func sigmoidInto(dst, x []float32) {
	tab := sigTable
	last := float32(len(tab) - 2)
	dst = dst[:len(x)]
	for i, v := range x {
		t := (v - sigLo) * sigStep
		if !(t > 0) {
			dst[i] = tab[0]
			continue
		}
		if t >= last {
			dst[i] = tab[len(tab)-2]
			continue
		}
		k := int(t)
		f := t - float32(k)
		a := tab[k]
		dst[i] = a + f*(tab[k+1]-a)
	}
}
