package standard

import (
	"bytes"
	"encoding/binary"
	"hash/crc32"
	"image"
	"image/color"
	"image/gif"
	"image/png"
	"math/rand"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/image/bmp"
	"golang.org/x/image/tiff"

	"github.com/gocann/gocann/ops"
	"github.com/gocann/gocann/tensor"
)

// testdata/extra holds src.rgb, a 13 x 11 RGB image, encoded by
// libjpeg-turbo at each chroma subsampling (yccNNN.jpg) and by libwebp
// (webp_lossy.webp, webp_lossless.webp), each beside the RGB its own library
// decodes it to by default (the .rgb of the same name): what the ONNX
// reference implementation, through Pillow, returns.

const extraW, extraH = 13, 11

func extraReadFile(t *testing.T, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", "extra", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func extraDecode(t *testing.T, data []byte, pf string) *tensor.Tensor {
	t.Helper()
	var attrs extraAttrs
	if pf != "" {
		attrs = extraAttrs{"pixel_format": extraS(pf)}
	}
	return extraCall{op: "ImageDecoder", opset: 20, attrs: attrs, in: []*tensor.Tensor{extraT(data, len(data))}}.mustRun(t)[0]
}

// extraAs converts an RGB reference to a pixel format.
func extraAs(rgb []byte, pf string) []byte {
	switch pf {
	case "BGR":
		out := make([]byte, len(rgb))
		for i := 0; i < len(rgb); i += 3 {
			out[i], out[i+1], out[i+2] = rgb[i+2], rgb[i+1], rgb[i]
		}
		return out
	case "Grayscale":
		out := make([]byte, len(rgb)/3)
		for i := range out {
			r, g, b := float64(rgb[3*i]), float64(rgb[3*i+1]), float64(rgb[3*i+2])
			out[i] = uint8(r*0.299 + g*0.587 + b*0.114 + 0.5)
		}
		return out
	}
	return rgb
}

// extraCompare checks an H x W x C output against want within tol per
// sample and a mean error of at most mean.
func extraCompare(t *testing.T, what string, got *tensor.Tensor, h, w, c int, want []byte, tol int, mean float64) {
	t.Helper()
	if !got.Shape().Equal(tensor.Shape{h, w, c}) {
		t.Fatalf("%s: shape %v, want [%d %d %d]", what, got.Shape(), h, w, c)
	}
	g, _ := tensor.View[uint8](got)
	maxd, sum := 0, 0
	for i := range g {
		d := int(g[i]) - int(want[i])
		if d < 0 {
			d = -d
		}
		maxd = max(maxd, d)
		sum += d
	}
	if m := float64(sum) / float64(len(g)); maxd > tol || m > mean {
		t.Fatalf("%s: max difference %d (allowed %d), mean %.3f (allowed %.3f)", what, maxd, tol, m, mean)
	}
}

func TestExtraImageDecoderJPEGAndWebP(t *testing.T) {
	formats := []struct {
		pf string
		ch int
	}{{"", 3}, {"RGB", 3}, {"BGR", 3}, {"Grayscale", 1}}
	// Go's IDCT is not libjpeg-turbo's, so JPEG samples may differ by a
	// little; chroma upsampling and colour conversion are libjpeg-turbo's
	// (with Go's own, nearest-neighbour chroma, 4:2:0 differs by up to 98).
	// VP8 decoding is exact by specification, and so is the output.
	for _, c := range []struct {
		name, file string
		tol        int
		mean       float64
	}{
		{"jpeg 4:4:4", "ycc444", 2, 0.1}, {"jpeg 4:2:2", "ycc422", 2, 0.1},
		{"jpeg 4:2:0", "ycc420", 2, 0.1}, {"jpeg 4:4:0", "ycc440", 2, 0.15},
		{"webp lossy", "webp_lossy", 0, 0}, {"webp lossless", "webp_lossless", 0, 0},
	} {
		ext := ".jpg"
		if strings.HasPrefix(c.file, "webp") {
			ext = ".webp"
		}
		data := extraReadFile(t, c.file+ext)
		want := extraReadFile(t, c.file+".rgb")
		for _, f := range formats {
			extraCompare(t, c.name+" "+f.pf, extraDecode(t, data, f.pf), extraH, extraW, f.ch, extraAs(want, f.pf), c.tol, c.mean)
		}
	}
}

// extraSource returns the test image as NRGBA with an alpha ramp, and its
// RGB bytes.
func extraSource(t *testing.T) (*image.NRGBA, []byte) {
	rgb := extraReadFile(t, "src.rgb")
	m := image.NewNRGBA(image.Rect(0, 0, extraW, extraH))
	for i := 0; i < extraW*extraH; i++ {
		copy(m.Pix[4*i:], rgb[3*i:3*i+3])
		m.Pix[4*i+3] = uint8(255 - i)
	}
	return m, rgb
}

func TestExtraImageDecoderLossless(t *testing.T) {
	src, rgb := extraSource(t)
	opaque := image.NewRGBA(src.Rect)
	for i := 0; i < extraW*extraH; i++ {
		copy(opaque.Pix[4*i:], rgb[3*i:3*i+3])
		opaque.Pix[4*i+3] = 255
	}
	gray := image.NewGray(src.Rect)
	gray16 := image.NewGray16(src.Rect)
	deep := image.NewNRGBA64(src.Rect)
	grayWant := make([]byte, extraW*extraH)
	for i := range gray.Pix {
		gray.Pix[i] = uint8(i * 7)
		gray16.Pix[2*i], gray16.Pix[2*i+1] = uint8(i*7), 0x80
		grayWant[i] = uint8(i * 7)
		for k := 0; k < 3; k++ {
			deep.Pix[8*i+2*k], deep.Pix[8*i+2*k+1] = rgb[3*i+k], 0xff
		}
		deep.Pix[8*i+6], deep.Pix[8*i+7] = 0x12, 0x34
	}
	grayRGB := make([]byte, 3*len(grayWant))
	for i, v := range grayWant {
		grayRGB[3*i], grayRGB[3*i+1], grayRGB[3*i+2] = v, v, v
	}
	pal := color.Palette{}
	for i := 0; i < 256; i++ {
		pal = append(pal, color.RGBA{uint8(i), uint8(255 - i), uint8(i * 3), 255})
	}
	paletted := image.NewPaletted(src.Rect, pal)
	palWant := make([]byte, 3*extraW*extraH)
	for i := range paletted.Pix {
		paletted.Pix[i] = uint8(i * 5)
		c := pal[i*5%256].(color.RGBA)
		palWant[3*i], palWant[3*i+1], palWant[3*i+2] = c.R, c.G, c.B
	}
	enc := func(f func(*bytes.Buffer) error) []byte {
		var b bytes.Buffer
		if err := f(&b); err != nil {
			t.Fatal(err)
		}
		return b.Bytes()
	}
	cases := []struct {
		name string
		data []byte
		rgb  []byte // expected RGB (grayscale is derived)
		gray []byte // expected grayscale when the image is gray itself
	}{
		{"png rgb", enc(func(b *bytes.Buffer) error { return png.Encode(b, opaque) }), rgb, nil},
		{"png rgba (alpha dropped, colour not premultiplied)", enc(func(b *bytes.Buffer) error { return png.Encode(b, src) }), rgb, nil},
		{"png 16-bit", enc(func(b *bytes.Buffer) error { return png.Encode(b, deep) }), rgb, nil},
		{"png gray", enc(func(b *bytes.Buffer) error { return png.Encode(b, gray) }), grayRGB, grayWant},
		{"png gray 16-bit", enc(func(b *bytes.Buffer) error { return png.Encode(b, gray16) }), grayRGB, grayWant},
		{"png paletted", enc(func(b *bytes.Buffer) error { return png.Encode(b, paletted) }), palWant, nil},
		{"gif", enc(func(b *bytes.Buffer) error { return gif.Encode(b, paletted, nil) }), palWant, nil},
		{"bmp", enc(func(b *bytes.Buffer) error { return bmp.Encode(b, opaque) }), rgb, nil},
		{"tiff", enc(func(b *bytes.Buffer) error { return tiff.Encode(b, opaque, nil) }), rgb, nil},
		{"tiff deflate", enc(func(b *bytes.Buffer) error {
			return tiff.Encode(b, opaque, &tiff.Options{Compression: tiff.Deflate, Predictor: true})
		}), rgb, nil},
	}
	for _, c := range cases {
		extraCompare(t, c.name, extraDecode(t, c.data, ""), extraH, extraW, 3, c.rgb, 0, 0)
		extraCompare(t, c.name+" BGR", extraDecode(t, c.data, "BGR"), extraH, extraW, 3, extraAs(c.rgb, "BGR"), 0, 0)
		gw := c.gray
		if gw == nil {
			gw = extraAs(c.rgb, "Grayscale")
		}
		extraCompare(t, c.name+" Grayscale", extraDecode(t, c.data, "Grayscale"), extraH, extraW, 1, gw, 0, 0)
	}
}

// A GIF whose first frame covers part of the logical screen decodes to the
// screen's size, the frame in place on black.
func TestExtraImageDecoderGIFFrame(t *testing.T) {
	pal := color.Palette{color.RGBA{0, 0, 0, 255}, color.RGBA{200, 10, 20, 255}, color.RGBA{5, 100, 250, 255}}
	frame := image.NewPaletted(image.Rect(2, 3, 6, 5), pal)
	for i := range frame.Pix {
		frame.Pix[i] = uint8(1 + i%2)
	}
	var b bytes.Buffer
	err := gif.EncodeAll(&b, &gif.GIF{Image: []*image.Paletted{frame}, Delay: []int{0},
		Config: image.Config{ColorModel: pal, Width: 7, Height: 6}})
	if err != nil {
		t.Fatal(err)
	}
	want := make([]byte, 7*6*3)
	for y := 3; y < 5; y++ {
		for x := 2; x < 6; x++ {
			c := pal[frame.ColorIndexAt(x, y)].(color.RGBA)
			i := (y*7 + x) * 3
			want[i], want[i+1], want[i+2] = c.R, c.G, c.B
		}
	}
	extraCompare(t, "gif frame", extraDecode(t, b.Bytes(), "RGB"), 6, 7, 3, want, 0, 0)
}

func TestExtraImageDecoderPNM(t *testing.T) {
	cases := []struct {
		name string
		data string
		h, w int
		rgb  []byte
	}{
		{"P6", "P6\n2 1\n255\n\x01\x02\x03\xfa\xfb\xfc", 1, 2, []byte{1, 2, 3, 250, 251, 252}},
		{"P6 16-bit", "P6 1 1 65535\n\x12\x34\xff\xff\x00\x00", 1, 1, []byte{0x12, 255, 0}},
		{"P3 with comments and maxval 15", "P3 # plain\n# size\n2 1\n15\n15 0 0   0 15 7\n", 1, 2, []byte{255, 0, 0, 0, 255, 119}},
		{"P5", "P5\n3 1\n255\n\x00\x80\xff", 1, 3, []byte{0, 0, 0, 128, 128, 128, 255, 255, 255}},
		{"P5 maxval 1000", "P5\n1 1\n1000\n\x01\xf4", 1, 1, []byte{128, 128, 128}},
		{"P2", "P2\n2 2\n4\n0 1\n2 4\n", 2, 2, []byte{0, 0, 0, 64, 64, 64, 128, 128, 128, 255, 255, 255}},
		{"P1 (1 is black), digits run together", "P1\n3 2\n010\n1 0 1\n", 2, 3, []byte{255, 255, 255, 0, 0, 0, 255, 255, 255, 0, 0, 0, 255, 255, 255, 0, 0, 0}},
		{"P4", "P4\n10 1\n\x80\x40", 1, 10, func() []byte {
			v := make([]byte, 30)
			for i := range v {
				v[i] = 255
			}
			copy(v[0:3], []byte{0, 0, 0})
			copy(v[27:30], []byte{0, 0, 0})
			return v
		}()},
	}
	for _, c := range cases {
		extraCompare(t, c.name, extraDecode(t, []byte(c.data), "RGB"), c.h, c.w, 3, c.rgb, 0, 0)
		extraCompare(t, c.name+" Grayscale", extraDecode(t, []byte(c.data), "Grayscale"), c.h, c.w, 1, extraAs(c.rgb, "Grayscale"), 0, 0)
	}
}

// extraPNGSize rewrites a PNG's IHDR dimensions (and its CRC).
func extraPNGSize(b []byte, w, h uint32) []byte {
	b = bytes.Clone(b)
	binary.BigEndian.PutUint32(b[16:], w)
	binary.BigEndian.PutUint32(b[20:], h)
	binary.BigEndian.PutUint32(b[29:], crc32.ChecksumIEEE(b[12:29]))
	return b
}

// Undecodable streams are errors, and no stream makes the decoder panic or
// allocate past the limit.
func TestExtraImageDecoderErrors(t *testing.T) {
	src, _ := extraSource(t)
	var pb bytes.Buffer
	if err := png.Encode(&pb, src); err != nil {
		t.Fatal(err)
	}
	pngData := pb.Bytes()
	jpegData := extraReadFile(t, "ycc420.jpg")
	webpData := extraReadFile(t, "webp_lossy.webp")
	var bb, tb, gb bytes.Buffer
	if err := bmp.Encode(&bb, src); err != nil {
		t.Fatal(err)
	}
	if err := tiff.Encode(&tb, src, nil); err != nil {
		t.Fatal(err)
	}
	if err := gif.Encode(&gb, src, nil); err != nil {
		t.Fatal(err)
	}
	u8 := func(b []byte) *tensor.Tensor { return extraT(b, len(b)) }
	small := &ops.Env{MaxTensorBytes: 1 << 16}
	cases := []struct {
		name string
		c    extraCall
	}{
		{"empty", extraCall{in: []*tensor.Tensor{u8(nil)}}},
		{"garbage", extraCall{in: []*tensor.Tensor{u8([]byte("this is not an image at all"))}}},
		{"jpeg 2000", extraCall{in: []*tensor.Tensor{u8([]byte("\x00\x00\x00\x0cjP  \r\n\x87\n\x00\x00\x00\x14ftypjp2 "))}}},
		{"jpeg 2000 codestream", extraCall{in: []*tensor.Tensor{u8([]byte{0xff, 0x4f, 0xff, 0x51, 0, 0})}}},
		{"truncated png", extraCall{in: []*tensor.Tensor{u8(pngData[:len(pngData)/2])}}},
		{"truncated jpeg", extraCall{in: []*tensor.Tensor{u8(jpegData[:len(jpegData)/2])}}},
		{"truncated webp", extraCall{in: []*tensor.Tensor{u8(webpData[:len(webpData)/2])}}},
		{"truncated bmp", extraCall{in: []*tensor.Tensor{u8(bb.Bytes()[:bb.Len()/2])}}},
		{"truncated tiff", extraCall{in: []*tensor.Tensor{u8(tb.Bytes()[:tb.Len()/2])}}},
		{"truncated gif", extraCall{in: []*tensor.Tensor{u8(gb.Bytes()[:gb.Len()/2])}}},
		{"png header only", extraCall{in: []*tensor.Tensor{u8(pngData[:8])}}},
		{"png bomb", extraCall{in: []*tensor.Tensor{u8(extraPNGSize(pngData, 50000, 50000))}}},
		{"png over the limit", extraCall{env: small, in: []*tensor.Tensor{u8(extraPNGSize(pngData, 200, 200))}}},
		{"pnm truncated", extraCall{in: []*tensor.Tensor{u8([]byte("P6\n2 2\n255\n\x01\x02"))}}},
		{"pnm plain truncated", extraCall{in: []*tensor.Tensor{u8([]byte("P2\n2 2\n255\n1 2 3"))}}},
		{"pnm maxval 0", extraCall{in: []*tensor.Tensor{u8([]byte("P5\n1 1\n0\n\x00"))}}},
		{"pnm maxval too big", extraCall{in: []*tensor.Tensor{u8([]byte("P5\n1 1\n70000\n\x00"))}}},
		{"pnm sample over maxval", extraCall{in: []*tensor.Tensor{u8([]byte("P2\n1 1\n7\n9\n"))}}},
		{"pnm no size", extraCall{in: []*tensor.Tensor{u8([]byte("P6\n"))}}},
		{"pnm zero size", extraCall{in: []*tensor.Tensor{u8([]byte("P5 0 3 255\n"))}}},
		{"pnm huge", extraCall{in: []*tensor.Tensor{u8([]byte("P6 1000000 1000000 255\n"))}}},
		{"pnm over the limit", extraCall{env: small, in: []*tensor.Tensor{u8([]byte("P5 300 300 255\n"))}}},
		{"pixel format", extraCall{attrs: extraAttrs{"pixel_format": extraS("RGBA")}, in: []*tensor.Tensor{u8(pngData)}}},
		{"rank 2", extraCall{in: []*tensor.Tensor{extraT(pngData, 1, len(pngData))}}},
		{"not uint8", extraCall{in: []*tensor.Tensor{extraT([]int8{1, 2}, 2)}}},
	}
	for _, c := range cases {
		c.c.op, c.c.opset = "ImageDecoder", 20
		if _, err := c.c.run(); err == nil {
			t.Errorf("%s: no error", c.name)
		} else if strings.HasPrefix(err.Error(), "PANIC:") {
			t.Errorf("%s: %v", c.name, err)
		} else {
			t.Logf("%s: %v", c.name, err)
		}
	}
	// Random corruption of each format: errors or images, never a panic.
	rng := rand.New(rand.NewSource(1))
	for _, data := range [][]byte{pngData, jpegData, webpData, extraReadFile(t, "webp_lossless.webp"), bb.Bytes(), tb.Bytes(), gb.Bytes(), []byte("P6\n2 1\n255\n\x01\x02\x03\xfa\xfb\xfc")} {
		for i := 0; i < 60; i++ {
			b := bytes.Clone(data)
			for k := 0; k < 1+rng.Intn(4); k++ {
				b[rng.Intn(len(b))] = byte(rng.Intn(256))
			}
			if _, err := (extraCall{op: "ImageDecoder", opset: 20, env: &ops.Env{MaxTensorBytes: 1 << 22}, in: []*tensor.Tensor{u8(b)}}).run(); err != nil && strings.HasPrefix(err.Error(), "PANIC:") {
				t.Fatalf("corrupted %q...: %v", b[:4], err)
			}
		}
	}
}
