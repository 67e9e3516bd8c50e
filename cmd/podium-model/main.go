// Command podium-model converts MediaPipe's selfie segmentation models from
// TFLite to ONNX for Podium's OpenCV DNN runtime, and checks ONNX files.
//
// Usage:
//
//	podium-model convert [-plain | -stock-opencv] -in selfie_segmentation.tflite -out selfie_segmentation.onnx
//	podium-model validate model.onnx...
//
// `make model` runs the converter on the pinned npm package (scripts/model.sh).
// convert validates its own output with segmentation.ValidateModel before
// writing it, and writes atomically (temporary file + rename).
package main

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"

	"github.com/podiumhq/podium/segmentation"
	"github.com/podiumhq/podium/segmentation/convert"
	"github.com/podiumhq/podium/segmentation/onnx"
	"github.com/podiumhq/podium/segmentation/tflite"
)

func main() {
	if len(os.Args) < 2 {
		usage()
	}
	var err error
	switch os.Args[1] {
	case "convert":
		err = runConvert(os.Args[2:])
	case "validate":
		err = runValidate(os.Args[2:])
	default:
		usage()
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "podium-model:", err)
		os.Exit(1)
	}
}

func usage() {
	fmt.Fprintln(os.Stderr, "usage: podium-model convert -in MODEL.tflite -out MODEL.onnx\n       podium-model validate MODEL.onnx...")
	os.Exit(2)
}

func runConvert(args []string) error {
	fs := flag.NewFlagSet("convert", flag.ExitOnError)
	in := fs.String("in", "", "input TFLite model")
	out := fs.String("out", "", "output ONNX model")
	plain := fs.Bool("plain", false, "one ONNX node per TFLite operator, none of the speed rewrites (for comparison)")
	stock := fs.Bool("stock-opencv", false, "also rewrite HardSwish and 5x5 depthwise convolutions for OpenCV 4.6 without podium's own layers")
	_ = fs.Parse(args)
	if *in == "" || *out == "" {
		usage()
	}
	data, err := os.ReadFile(*in)
	if err != nil {
		return err
	}
	m, err := tflite.Parse(data)
	if err != nil {
		return fmt.Errorf("%s: %w", *in, err)
	}
	opts := convert.DefaultOptions
	if *stock {
		opts = convert.StockOpenCVOptions
	}
	if *plain {
		opts = convert.Options{}
	}
	om, err := convert.ConvertWith(m, opts)
	if err != nil {
		return fmt.Errorf("%s: %w", *in, err)
	}
	buf := onnx.Marshal(om)
	if err := segmentation.ValidateModelBytes(buf); err != nil {
		return fmt.Errorf("converted model fails validation: %w", err)
	}
	if err := os.MkdirAll(filepath.Dir(*out), 0o755); err != nil {
		return err
	}
	tmp, err := os.CreateTemp(filepath.Dir(*out), ".podium-model-*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(buf); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	if err := os.Chmod(tmp.Name(), 0o644); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), *out)
}

func runValidate(paths []string) error {
	if len(paths) == 0 {
		usage()
	}
	bad := 0
	for _, p := range paths {
		if err := segmentation.ValidateModel(p); err != nil {
			fmt.Fprintln(os.Stderr, err)
			bad++
			continue
		}
		fmt.Printf("%s: ok\n", p)
	}
	if bad > 0 {
		return fmt.Errorf("%d of %d models invalid", bad, len(paths))
	}
	return nil
}
