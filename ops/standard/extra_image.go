package standard

import (
	"bytes"
	"fmt"
	"image"
	"image/color"
	"image/draw"
	"image/gif"
	"image/jpeg"
	"image/png"
	"io"

	"golang.org/x/image/bmp"
	"golang.org/x/image/tiff"
	"golang.org/x/image/webp"

	"github.com/gocann/gocann/ops"
	"github.com/gocann/gocann/tensor"
)

// ImageDecoder (opset 20): decodes an encoded image held in a uint8 tensor
// into an H x W x C uint8 tensor. BMP, GIF (first frame), JPEG, PNG, PNM,
// TIFF and WebP decode; JPEG 2000 and anything else is an error, as is a
// corrupt stream (the specification's "empty matrix" would hide the
// failure from the caller). JPEG chroma is upsampled and converted as
// libjpeg-turbo does, as the specification asks; grayscale output from a
// colour image uses ITU-R 601 luma with the rounding of the ONNX
// reference implementation (Pillow's convert("L")).

func extraPrepareImageDecoder(n *ops.Node) (*ops.Plan, error) {
	if err := checkType(n, 0, []tensor.DType{tensor.Uint8}); err != nil {
		return nil, err
	}
	if x := n.Inputs[0]; !x.UnknownRank && len(x.Shape) != 1 {
		return nil, n.Errorf("encoded_stream must be 1-D, got %s", x)
	}
	pf := n.Attrs.String("pixel_format", "RGB")
	if err := n.Attrs.Err(); err != nil {
		return nil, err
	}
	var ch int
	switch pf {
	case "RGB", "BGR":
		ch = 3
	case "Grayscale":
		ch = 1
	default:
		return nil, n.Errorf("pixel_format %q: want RGB, BGR or Grayscale", pf)
	}
	k := func(env *ops.Env, in, out []*tensor.Tensor) error {
		data, err := tensor.View[uint8](in[0])
		if err != nil {
			return err
		}
		return extraDecodeImage(env, data, pf, out)
	}
	return &ops.Plan{Outputs: []ops.Type{ops.TensorType(tensor.Uint8, tensor.Shape{-1, -1, ch})}, Kernel: k}, nil
}

// extraImageFormat names the format of an encoded image by its signature.
func extraImageFormat(b []byte) string {
	switch {
	case bytes.HasPrefix(b, []byte{0xff, 0xd8, 0xff}):
		return "jpeg"
	case bytes.HasPrefix(b, []byte("\x89PNG\r\n\x1a\n")):
		return "png"
	case bytes.HasPrefix(b, []byte("GIF87a")), bytes.HasPrefix(b, []byte("GIF89a")):
		return "gif"
	case bytes.HasPrefix(b, []byte("BM")):
		return "bmp"
	case bytes.HasPrefix(b, []byte("II*\x00")), bytes.HasPrefix(b, []byte("MM\x00*")):
		return "tiff"
	case len(b) >= 12 && string(b[:4]) == "RIFF" && string(b[8:12]) == "WEBP":
		return "webp"
	case len(b) >= 3 && b[0] == 'P' && b[1] >= '1' && b[1] <= '6' && extraPNMSpace(b[2]):
		return "pnm"
	case bytes.HasPrefix(b, []byte("\x00\x00\x00\x0cjP  \r\n\x87\n")), bytes.HasPrefix(b, []byte{0xff, 0x4f, 0xff, 0x51}):
		return "jpeg2000"
	}
	return ""
}

type extraCodec struct {
	config func(io.Reader) (image.Config, error)
	decode func(io.Reader) (image.Image, error)
}

var extraCodecs = map[string]extraCodec{
	"jpeg": {jpeg.DecodeConfig, jpeg.Decode},
	"png":  {png.DecodeConfig, png.Decode},
	"gif":  {gif.DecodeConfig, gif.Decode},
	"bmp":  {bmp.DecodeConfig, bmp.Decode},
	"tiff": {tiff.DecodeConfig, tiff.Decode},
	"webp": {webp.DecodeConfig, webp.Decode},
}

func extraDecodeImage(env *ops.Env, data []byte, pf string, out []*tensor.Tensor) error {
	ch := 3
	if pf == "Grayscale" {
		ch = 1
	}
	format := extraImageFormat(data)
	switch format {
	case "":
		return errorf("ImageDecoder: unrecognized image format (%d bytes)", len(data))
	case "jpeg2000":
		return errorf("ImageDecoder: JPEG 2000 images are not supported")
	case "pnm":
		p, err := extraDecodePNM(env, data)
		if err != nil {
			return err
		}
		y, err := env.Output(out, 0, tensor.Uint8, tensor.Shape{p.h, p.w, ch})
		if err != nil {
			return err
		}
		dst, err := tensor.View[uint8](y)
		if err != nil {
			return err
		}
		extraFillPNM(dst, p, pf)
		return nil
	}
	codec := extraCodecs[format]
	cfg, err := codec.config(bytes.NewReader(data))
	if err != nil {
		return errorf("ImageDecoder: %s: %v", format, err)
	}
	// The decoder holds the whole image in its own form before we convert
	// it: bound that, and the output, before decoding.
	bpp := int64(4)
	switch cfg.ColorModel {
	case color.RGBA64Model, color.NRGBA64Model:
		bpp = 8
	}
	if err := extraCheckBytes(env, "ImageDecoder: "+format, bpp, cfg.Height, cfg.Width); err != nil {
		return err
	}
	img, err := extraSafeDecode(codec.decode, data)
	if err != nil {
		return errorf("ImageDecoder: %s: %v", format, err)
	}
	b := img.Bounds()
	if format == "gif" && b != image.Rect(0, 0, cfg.Width, cfg.Height) && b.In(image.Rect(0, 0, cfg.Width, cfg.Height)) {
		// A first frame smaller than the logical screen: place it on a
		// black canvas of the screen's size.
		canvas := image.NewNRGBA(image.Rect(0, 0, cfg.Width, cfg.Height))
		draw.Draw(canvas, b, img, b.Min, draw.Src)
		img, b = canvas, canvas.Rect
	}
	if b.Dx() != cfg.Width || b.Dy() != cfg.Height {
		return errorf("ImageDecoder: %s: decoded %dx%d, header says %dx%d", format, b.Dx(), b.Dy(), cfg.Width, cfg.Height)
	}
	y, err := env.Output(out, 0, tensor.Uint8, tensor.Shape{b.Dy(), b.Dx(), ch})
	if err != nil {
		return err
	}
	dst, err := tensor.View[uint8](y)
	if err != nil {
		return err
	}
	extraFillImage(env, dst, img, pf, format == "webp")
	return nil
}

// extraSafeDecode runs a decoder, turning a panic inside it (a decoder bug
// on hostile input) into an error.
func extraSafeDecode(decode func(io.Reader) (image.Image, error), data []byte) (img image.Image, err error) {
	defer func() {
		if r := recover(); r != nil {
			img, err = nil, fmt.Errorf("decoder failed: %v", r)
		}
	}()
	return decode(bytes.NewReader(data))
}

// extraLuma is ITU-R 601-2 luma as Pillow computes it ("L" from "RGB").
func extraLuma(r, g, b uint8) uint8 {
	return uint8((uint32(r)*19595 + uint32(g)*38470 + uint32(b)*7471 + 0x8000) >> 16)
}

// extraPut stores one pixel in the output's pixel format.
func extraPut(dst []uint8, i int, pf string, r, g, b uint8) {
	switch pf {
	case "RGB":
		dst[3*i], dst[3*i+1], dst[3*i+2] = r, g, b
	case "BGR":
		dst[3*i], dst[3*i+1], dst[3*i+2] = b, g, r
	default:
		dst[i] = extraLuma(r, g, b)
	}
}

// extraFillImage converts a decoded image, row by row in parallel. VP8
// (lossy WebP) planes are converted as libwebp does, JPEG's as libjpeg-turbo.
func extraFillImage(env *ops.Env, dst []uint8, img image.Image, pf string, vp8 bool) {
	b := img.Bounds()
	w, h := b.Dx(), b.Dy()
	if m, ok := img.(*image.NYCbCrA); ok { // lossy WebP with alpha: the colour planes
		img = &m.YCbCr
	}
	var row func(y int)
	switch m := img.(type) {
	case *image.YCbCr:
		if b.Min != (image.Point{}) {
			break
		}
		convert := extraNewYCbCrRows(m).row
		if vp8 && m.SubsampleRatio == image.YCbCrSubsampleRatio420 {
			convert = func(y int, rgb []uint8) { extraVP8Row(m, y, rgb) }
		}
		row = func(y int) {
			buf := make([]uint8, 3*w)
			convert(y, buf)
			for x := 0; x < w; x++ {
				extraPut(dst, y*w+x, pf, buf[3*x], buf[3*x+1], buf[3*x+2])
			}
		}
	case *image.Gray:
		row = func(y int) {
			src := m.Pix[m.PixOffset(b.Min.X, b.Min.Y+y):][:w]
			for x, v := range src {
				if pf == "Grayscale" {
					dst[y*w+x] = v
				} else {
					extraPut(dst, y*w+x, pf, v, v, v)
				}
			}
		}
	case *image.NRGBA:
		row = func(y int) {
			src := m.Pix[m.PixOffset(b.Min.X, b.Min.Y+y):][:4*w]
			for x := 0; x < w; x++ {
				extraPut(dst, y*w+x, pf, src[4*x], src[4*x+1], src[4*x+2])
			}
		}
	case *image.RGBA: // premultiplied: opaque pixels (all of an RGB PNG) are already plain
		row = func(y int) {
			src := m.Pix[m.PixOffset(b.Min.X, b.Min.Y+y):][:4*w]
			for x := 0; x < w; x++ {
				c := color.RGBA{src[4*x], src[4*x+1], src[4*x+2], src[4*x+3]}
				if c.A != 255 {
					n := color.NRGBAModel.Convert(c).(color.NRGBA)
					c.R, c.G, c.B = n.R, n.G, n.B
				}
				extraPut(dst, y*w+x, pf, c.R, c.G, c.B)
			}
		}
	case *image.Paletted:
		pal := make([]color.NRGBA, 256)
		for i, c := range m.Palette {
			if i < len(pal) {
				pal[i] = color.NRGBAModel.Convert(c).(color.NRGBA)
			}
		}
		row = func(y int) {
			src := m.Pix[m.PixOffset(b.Min.X, b.Min.Y+y):][:w]
			for x, v := range src {
				c := pal[v]
				extraPut(dst, y*w+x, pf, c.R, c.G, c.B)
			}
		}
	}
	if row == nil { // any other model: through non-premultiplied 8-bit colour
		row = func(y int) {
			for x := 0; x < w; x++ {
				c := color.NRGBAModel.Convert(img.At(b.Min.X+x, b.Min.Y+y)).(color.NRGBA)
				extraPut(dst, y*w+x, pf, c.R, c.G, c.B)
			}
		}
	}
	env.ParallelFor(h, max(1, 65536/max(w, 1)), func(lo, hi int) {
		for y := lo; y < hi; y++ {
			row(y)
		}
	})
}

// extraYCbCrRows converts a JPEG's YCbCr planes to RGB as libjpeg-turbo
// does by default: "fancy" (triangle-filter) chroma upsampling for 2x
// horizontal and/or vertical subsampling, with its alternating rounding
// and edge replication, then its fixed-point YCbCr to RGB tables.
type extraYCbCrRows struct {
	m          *image.YCbCr
	w, cw, ch  int
	hsub, vsub bool // chroma halved horizontally, vertically (fancy upsampling)
	nearest    bool // other subsampling ratios: nearest chroma sample
}

func extraNewYCbCrRows(m *image.YCbCr) *extraYCbCrRows {
	w, h := m.Rect.Dx(), m.Rect.Dy()
	c := &extraYCbCrRows{m: m, w: w}
	switch m.SubsampleRatio {
	case image.YCbCrSubsampleRatio444:
		c.cw, c.ch = w, h
	case image.YCbCrSubsampleRatio422:
		c.cw, c.ch, c.hsub = (w+1)/2, h, true
	case image.YCbCrSubsampleRatio420:
		c.cw, c.ch, c.hsub, c.vsub = (w+1)/2, (h+1)/2, true, true
	case image.YCbCrSubsampleRatio440:
		c.cw, c.ch, c.vsub = w, (h+1)/2, true
	default:
		c.nearest = true
	}
	return c
}

// chroma upsamples one chroma plane's contribution to output row y.
func (c *extraYCbCrRows) chroma(plane []uint8, y int, out []int32) {
	m := c.m
	if c.nearest {
		for x := 0; x < c.w; x++ {
			out[x] = int32(plane[m.COffset(x, y)])
		}
		return
	}
	cy := y
	var near, far []uint8
	if c.vsub {
		cy = y / 2
		fy := cy - 1
		if y%2 == 1 {
			fy = cy + 1
		}
		fy = min(max(fy, 0), c.ch-1)
		far = plane[fy*m.CStride:][:c.cw]
	}
	near = plane[cy*m.CStride:][:c.cw]
	// col is the vertically filtered chroma sample at column i (times 4
	// when filtered), with the edge column replicated.
	col := func(i int) int32 {
		i = min(max(i, 0), c.cw-1)
		if c.vsub {
			return 3*int32(near[i]) + int32(far[i])
		}
		return int32(near[i])
	}
	switch {
	case c.hsub && c.vsub: // h2v2: results are sums of 16ths
		for x := 0; x < c.w; x++ {
			k := x / 2
			if x%2 == 0 {
				out[x] = (3*col(k) + col(k-1) + 8) >> 4
			} else {
				out[x] = (3*col(k) + col(k+1) + 7) >> 4
			}
		}
	case c.hsub: // h2v1
		for x := 0; x < c.w; x++ {
			k := x / 2
			if x%2 == 0 {
				out[x] = (3*col(k) + col(k-1) + 1) >> 2
			} else {
				out[x] = (3*col(k) + col(k+1) + 2) >> 2
			}
		}
	case c.vsub: // h1v2
		bias := int32(1)
		if y%2 == 1 {
			bias = 2
		}
		for x := 0; x < c.w; x++ {
			out[x] = (col(x) + bias) >> 2
		}
	default:
		for x := 0; x < c.w; x++ {
			out[x] = col(x)
		}
	}
}

// row writes output row y as RGB triples into rgb.
func (c *extraYCbCrRows) row(y int, rgb []uint8) {
	cb := make([]int32, c.w)
	cr := make([]int32, c.w)
	c.chroma(c.m.Cb, y, cb)
	c.chroma(c.m.Cr, y, cr)
	lum := c.m.Y[c.m.YOffset(0, y):][:c.w]
	const half = 1 << 15
	clamp := func(v int32) uint8 { return uint8(min(max(v, 0), 255)) }
	for x := 0; x < c.w; x++ {
		yy := int32(lum[x])
		b1, r1 := cb[x]-128, cr[x]-128
		// libjpeg's jdcolor.c tables: FIX(1.40200), FIX(0.34414),
		// FIX(0.71414), FIX(1.77200) at 16 fractional bits.
		r := yy + (91881*r1+half)>>16
		g := yy + (-22554*b1-46802*r1+half)>>16
		b := yy + (116130*b1+half)>>16
		rgb[3*x], rgb[3*x+1], rgb[3*x+2] = clamp(r), clamp(g), clamp(b)
	}
}

// extraVP8Row converts row y of a VP8 image as libwebp's default RGB
// output does: its "fancy" upsampler (a 9-3-3-1 filter of the two nearest
// chroma rows, rounded its way, edges replicated) and its 14-bit BT.601
// limited-range YUV to RGB conversion.
func extraVP8Row(m *image.YCbCr, y int, rgb []uint8) {
	w, h := m.Rect.Dx(), m.Rect.Dy()
	ch := (h + 1) / 2
	k := (y + 1) / 2
	top := min(max(k-1, 0), ch-1)
	cur := min(k, ch-1)
	nearTop := y%2 == 1 // odd rows lie nearer the upper chroma row
	if y == 0 {
		nearTop = true
	}
	u := make([]int32, w)
	v := make([]int32, w)
	for p, plane := range [2][]uint8{m.Cb, m.Cr} {
		t := plane[top*m.CStride:]
		c := plane[cur*m.CStride:]
		out := u
		if p == 1 {
			out = v
		}
		near, far := c, t
		if nearTop {
			near, far = t, c
		}
		out[0] = (3*int32(near[0]) + int32(far[0]) + 2) >> 2
		last := (w - 1) >> 1
		for x := 1; x <= last; x++ {
			tl, tt, l, uv := int32(t[x-1]), int32(t[x]), int32(c[x-1]), int32(c[x])
			avg := tl + tt + l + uv + 8
			d12 := (avg + 2*(tt+l)) >> 3
			d03 := (avg + 2*(tl+uv)) >> 3
			if nearTop {
				out[2*x-1], out[2*x] = (d12+tl)>>1, (d03+tt)>>1
			} else {
				out[2*x-1], out[2*x] = (d03+l)>>1, (d12+uv)>>1
			}
		}
		if w%2 == 0 {
			out[w-1] = (3*int32(near[last]) + int32(far[last]) + 2) >> 2
		}
	}
	clip := func(x int32) uint8 { // libwebp's VP8Clip8: 6 fractional bits
		if x&^(256<<6-1) == 0 {
			return uint8(x >> 6)
		}
		if x < 0 {
			return 0
		}
		return 255
	}
	hi := func(x, c int32) int32 { return (x * c) >> 8 }
	lum := m.Y[m.YOffset(0, y):][:w]
	for x := 0; x < w; x++ {
		yy := hi(int32(lum[x]), 19077)
		rgb[3*x] = clip(yy + hi(v[x], 26149) - 14234)
		rgb[3*x+1] = clip(yy - hi(u[x], 6419) - hi(v[x], 13320) + 8708)
		rgb[3*x+2] = clip(yy + hi(u[x], 33050) - 17685)
	}
}

// extraPNM is a decoded Netpbm image: 1 (gray) or 3 (RGB) channels.
type extraPNM struct {
	w, h, ch int
	pix      []uint8
}

func extraPNMSpace(c byte) bool {
	return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f'
}

// extraPNMReader walks a Netpbm stream.
type extraPNMReader struct {
	b []byte
	i int
}

// skip passes white space and comments.
func (r *extraPNMReader) skip() {
	for r.i < len(r.b) {
		switch c := r.b[r.i]; {
		case extraPNMSpace(c):
			r.i++
		case c == '#':
			for r.i < len(r.b) && r.b[r.i] != '\n' && r.b[r.i] != '\r' {
				r.i++
			}
		default:
			return
		}
	}
}

// uint reads a decimal number no larger than limit.
func (r *extraPNMReader) uint(what string, limit int) (int, error) {
	r.skip()
	start, v := r.i, 0
	for r.i < len(r.b) && r.b[r.i] >= '0' && r.b[r.i] <= '9' {
		v = v*10 + int(r.b[r.i]-'0')
		if v > limit {
			return 0, errorf("ImageDecoder: pnm: %s is over %d", what, limit)
		}
		r.i++
	}
	if r.i == start {
		return 0, errorf("ImageDecoder: pnm: bad or missing %s", what)
	}
	return v, nil
}

// extraDecodePNM decodes PBM, PGM and PPM, plain (P1-P3) and raw (P4-P6).
// Samples are scaled from 0..maxval to 0..255; PBM's 1 is black.
func extraDecodePNM(env *ops.Env, data []byte) (*extraPNM, error) {
	kind := data[1] - '0'
	r := &extraPNMReader{b: data, i: 2}
	w, err := r.uint("width", 1<<30)
	if err != nil {
		return nil, err
	}
	h, err := r.uint("height", 1<<30)
	if err != nil {
		return nil, err
	}
	maxval := 1
	if kind != 1 && kind != 4 {
		if maxval, err = r.uint("maxval", 65535); err != nil {
			return nil, err
		}
		if maxval < 1 {
			return nil, errorf("ImageDecoder: pnm: maxval must be at least 1")
		}
	}
	if w < 1 || h < 1 {
		return nil, errorf("ImageDecoder: pnm: empty image %dx%d", w, h)
	}
	ch := 1
	if kind == 3 || kind == 6 {
		ch = 3
	}
	if err := extraCheckBytes(env, "ImageDecoder: pnm", int64(ch), w, h); err != nil {
		return nil, err
	}
	p := &extraPNM{w: w, h: h, ch: ch, pix: make([]uint8, w*h*ch)}
	scale := func(v int) uint8 { return uint8((v*255 + maxval/2) / maxval) }
	short := errorf("ImageDecoder: pnm: image data is truncated")
	switch kind {
	case 1: // plain PBM: digits, white space optional
		for i := range p.pix {
			r.skip()
			if r.i >= len(data) || (data[r.i] != '0' && data[r.i] != '1') {
				return nil, short
			}
			p.pix[i] = 255 * (1 - (data[r.i] - '0'))
			r.i++
		}
	case 2, 3: // plain PGM, PPM
		for i := range p.pix {
			v, err := r.uint("sample", maxval)
			if err != nil {
				return nil, err
			}
			p.pix[i] = scale(v)
		}
	case 4: // raw PBM: rows of bits, most significant first
		r.i++ // the single white space after the header
		stride := (w + 7) / 8
		if int64(len(data)-r.i) < int64(stride)*int64(h) {
			return nil, short
		}
		for y := 0; y < h; y++ {
			row := data[r.i+y*stride:]
			for x := 0; x < w; x++ {
				if row[x/8]&(0x80>>(x%8)) == 0 {
					p.pix[y*w+x] = 255
				}
			}
		}
	case 5, 6: // raw PGM, PPM: one byte per sample, or two big-endian
		r.i++
		n := len(p.pix)
		if maxval < 256 {
			if len(data)-r.i < n {
				return nil, short
			}
			src := data[r.i : r.i+n]
			for i, v := range src {
				p.pix[i] = scale(min(int(v), maxval))
			}
		} else {
			if (len(data)-r.i)/2 < n {
				return nil, short
			}
			src := data[r.i : r.i+2*n]
			for i := range p.pix {
				p.pix[i] = scale(min(int(src[2*i])<<8|int(src[2*i+1]), maxval))
			}
		}
	}
	return p, nil
}

func extraFillPNM(dst []uint8, p *extraPNM, pf string) {
	for i := 0; i < p.w*p.h; i++ {
		if p.ch == 1 {
			v := p.pix[i]
			if pf == "Grayscale" {
				dst[i] = v
			} else {
				extraPut(dst, i, pf, v, v, v)
			}
			continue
		}
		extraPut(dst, i, pf, p.pix[3*i], p.pix[3*i+1], p.pix[3*i+2])
	}
}
