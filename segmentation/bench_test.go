package segmentation

import (
	"context"
	"image"
	"image/color"
	"runtime"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
)

// frame720 returns messi5.jpg scaled (nearest) to 1280x720 as RGBA and as
// 4:2:0 YCbCr, the shapes a camera delivers.
func frame720(tb testing.TB) (*image.RGBA, *image.YCbCr) {
	src := toRGBA(decode(tb, "opencv/messi5.jpg"))
	sb := src.Bounds()
	rgba := image.NewRGBA(image.Rect(0, 0, 1280, 720))
	ycc := image.NewYCbCr(rgba.Bounds(), image.YCbCrSubsampleRatio420)
	for y := 0; y < 720; y++ {
		for x := 0; x < 1280; x++ {
			c := src.RGBAAt(sb.Min.X+x*sb.Dx()/1280, sb.Min.Y+y*sb.Dy()/720)
			rgba.SetRGBA(x, y, c)
			yy, cb, cr := color.RGBToYCbCr(c.R, c.G, c.B)
			ycc.Y[ycc.YOffset(x, y)] = yy
			ycc.Cb[ycc.COffset(x, y)] = cb
			ycc.Cr[ycc.COffset(x, y)] = cr
		}
	}
	return rgba, ycc
}

func benchInfer(b *testing.B, model string, threads int) {
	SetOpenCVThreads(threads)
	defer SetOpenCVThreads(1)
	runtime.LockOSThread() // so that RUSAGE_THREAD is this benchmark's thread
	defer runtime.UnlockOSThread()
	s, err := NewSegmenter(modelPath(b, model))
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	rgba, _ := frame720(b)
	if err := s.Prepare(rgba); err != nil {
		b.Fatal(err)
	}
	if _, err := s.Infer(); err != nil { // first call allocates
		b.Fatal(err)
	}
	b.ResetTimer()
	cpu0, proc0 := threadCPUTime(), cpuTime()
	for i := 0; i < b.N; i++ {
		if _, err := s.Infer(); err != nil {
			b.Fatal(err)
		}
	}
	b.StopTimer()
	// CPU time of the calling thread (OpenCV's single-threaded forward runs
	// on it): less sensitive than wall time to other processes taking the
	// CPU; with threads > 1, the process's CPU time counts the helpers too.
	b.ReportMetric(ms(threadCPUTime()-cpu0)/float64(b.N), "thread-cpu-ms/op")
	b.ReportMetric(ms(cpuTime()-proc0)/float64(b.N), "proc-cpu-ms/op")
}

// BenchmarkInferGeneral256: forward pass of the 256x256 model (blob, net
// up to the logits, logistic and copy into a Mask), OpenCV on one thread.
func BenchmarkInferGeneral256(b *testing.B) { benchInfer(b, GeneralModel, 1) }

// BenchmarkInferLandscape144: same for the 256x144 model.
func BenchmarkInferLandscape144(b *testing.B) { benchInfer(b, LandscapeModel, 1) }

// BenchmarkInferGeneral256Threads2: BenchmarkInferGeneral256 with OpenCV's
// pool at 2 threads (cv::setNumThreads(2)), for the thread-count choice.
func BenchmarkInferGeneral256Threads2(b *testing.B) { benchInfer(b, GeneralModel, 2) }

func benchPrepare(b *testing.B, img image.Image) {
	SetOpenCVThreads(1)
	s, err := NewSegmenter(modelPath(b, GeneralModel))
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	var rgb []byte
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if err := s.Prepare(img); err != nil {
			b.Fatal(err)
		}
		rgb = s.RGB(rgb)
	}
}

// BenchmarkPreprocess720pRGBAGeneral256: 1280x720 RGBA -> 256x256 RGB.
func BenchmarkPreprocess720pRGBAGeneral256(b *testing.B) {
	rgba, _ := frame720(b)
	benchPrepare(b, rgba)
}

// BenchmarkPreprocess720pYCbCrGeneral256: 1280x720 4:2:0 YCbCr -> 256x256 RGB.
func BenchmarkPreprocess720pYCbCrGeneral256(b *testing.B) {
	_, ycc := frame720(b)
	benchPrepare(b, ycc)
}

// BenchmarkPostprocessGeneral256: motion-gated smoothing plus threshold and
// feather on a 256x256 mask.
func BenchmarkPostprocessGeneral256(b *testing.B) {
	s, err := NewSegmenter(modelPath(b, GeneralModel))
	if err != nil {
		b.Fatal(err)
	}
	rgba, _ := frame720(b)
	raw, err := s.Segment(rgba)
	if err != nil {
		b.Fatal(err)
	}
	rgb := s.RGB(nil)
	s.Close()
	sm := Smoother{Strength: DefaultSmoothing}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		m := sm.Apply(raw, rgb)
		Refine(m, 0.5, 0.1)
	}
}

// benchPool measures throughput: frames are submitted as fast as the pool
// drains them (a new frame whenever the pending slot may be free), and ns/op
// is wall time per published mask.
func benchPool(b *testing.B, workers int) {
	rgba, _ := frame720(b)
	p, err := NewPool(PoolOptions{Workers: workers, Smoothing: DefaultSmoothing})
	if err != nil {
		b.Fatal(err)
	}
	defer p.Close()
	var stop atomic.Bool
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for seq := uint64(1); !stop.Load(); seq++ {
			p.Submit(rgba, seq)
			time.Sleep(200 * time.Microsecond)
		}
	}()
	start := p.Stats().Processed
	b.ResetTimer()
	for p.Stats().Processed-start < uint64(b.N) {
		time.Sleep(100 * time.Microsecond)
	}
	b.StopTimer()
	stop.Store(true)
	wg.Wait()
	st := p.Stats()
	b.ReportMetric(st.PreprocessMs, "pre-ms")
	b.ReportMetric(st.InferenceMs, "infer-ms")
	b.ReportMetric(st.PostprocessMs, "post-ms")
}

func BenchmarkPool720pGeneral256Workers1(b *testing.B) { benchPool(b, 1) }
func BenchmarkPool720pGeneral256Workers2(b *testing.B) { benchPool(b, 2) }

// benchPool30fps paces 720p RGBA frames at 30 fps into a pool for b.N
// seconds (at least 2) and reports the process CPU time spent per second of
// video ("cores"; the target is <= 0.25). The pool's OpenCV thread setting
// is its default (1, see PoolOptions.OpenCVThreads) unless threads > 0.
func benchPool30fps(b *testing.B, workers, threads int) {
	rgba, _ := frame720(b)
	p, err := NewPool(PoolOptions{Workers: workers, Smoothing: DefaultSmoothing, OpenCVThreads: threads})
	if err != nil {
		b.Fatal(err)
	}
	defer p.Close()
	defer SetOpenCVThreads(1)
	frames := 30 * b.N
	if frames < 60 {
		frames = 60
	}
	// Warm up (first forward passes allocate) before measuring.
	for i := 1; i <= 5; i++ {
		p.Submit(rgba, uint64(i))
		if _, _, err := p.Next(context.Background(), uint64(i-1)); err != nil {
			b.Fatal(err)
		}
	}
	st0 := p.Stats()
	cpu0 := cpuTime()
	t0 := time.Now()
	tick := time.NewTicker(time.Second / 30)
	defer tick.Stop()
	for i := 1; i <= frames; i++ {
		<-tick.C
		p.Submit(rgba, uint64(5+i))
	}
	time.Sleep(50 * time.Millisecond) // let the last frame finish
	wall := time.Since(t0)
	cores := (cpuTime() - cpu0).Seconds() / wall.Seconds()
	st := p.Stats()
	b.ReportMetric(cores, "cores")
	b.ReportMetric(float64(st.Processed-st0.Processed)/float64(frames), "processed/submitted")
	b.ReportMetric(st.PreprocessMs+st.InferenceMs+st.PostprocessMs, "ms/frame")
}

// BenchmarkPool720p30fpsGeneral256 is the 720p30 cost with one worker (the
// pool's OpenCV default: one thread).
func BenchmarkPool720p30fpsGeneral256(b *testing.B) { benchPool30fps(b, 1, 0) }

// BenchmarkPool720p30fpsGeneral256Workers2: two workers, one OpenCV thread.
func BenchmarkPool720p30fpsGeneral256Workers2(b *testing.B) { benchPool30fps(b, 2, 0) }

// BenchmarkPool720p30fpsGeneral256Threads2: one worker, OpenCV on 2 threads.
func BenchmarkPool720p30fpsGeneral256Threads2(b *testing.B) { benchPool30fps(b, 1, 2) }

// threadCPUTime returns the calling OS thread's user+system time.
func threadCPUTime() time.Duration {
	var ru syscall.Rusage
	_ = syscall.Getrusage(1, &ru) // RUSAGE_THREAD
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

func cpuTime() time.Duration {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
