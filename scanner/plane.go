package scanner

import (
	"fmt"
	"image"
)

// plane is an 8-bit luminance image: 0 is black, 255 white; row y starts at
// pix[y*stride]. A plane may alias a caller's buffer, so the decoder never
// writes into one it did not allocate.
type plane struct {
	pix    []byte
	width  int
	height int
	stride int
}

// checkPlane validates a caller's frame geometry against maxPixels,
// without overflowing on absurd values.
func checkPlane(pix []byte, width, height, stride, maxPixels int) error {
	if err := checkSize(width, height, maxPixels); err != nil {
		return err
	}
	if stride < width {
		return fmt.Errorf("frame stride %d is less than width %d", stride, width)
	}
	// The last row need not be padded to the stride: the frame needs
	// stride*(height-1) + width bytes.
	short := len(pix) < width
	if !short && height > 1 {
		short = stride > (len(pix)-width)/(height-1)
	}
	if short {
		return fmt.Errorf("frame buffer holds %d bytes, too few for %dx%d at stride %d", len(pix), width, height, stride)
	}
	return nil
}

// checkSize validates frame dimensions against maxPixels.
func checkSize(width, height, maxPixels int) error {
	switch {
	case width <= 0 || height <= 0:
		return fmt.Errorf("frame size %dx%d: width and height must be positive", width, height)
	case tooManyPixels(width, height, maxPixels):
		return fmt.Errorf("frame size %dx%d exceeds %d pixels", width, height, maxPixels)
	}
	return nil
}

// tooManyPixels reports whether a w x h image (w, h > 0) has more than max
// pixels.
func tooManyPixels(w, h, max int) bool {
	return w > max/h
}

// grow returns buf resized to n bytes, reusing its storage when it can.
func grow(buf []byte, n int) []byte {
	if cap(buf) >= n {
		return buf[:n]
	}
	return make([]byte, n)
}

// luma returns the BT.601 luma of an 8-bit RGB colour (the weights of
// color.GrayModel).
func luma(r, g, b uint32) byte {
	return byte((19595*r + 38470*g + 7471*b + 1<<15) >> 16)
}

// grayPlane turns img into a luminance plane, composing any transparency
// over white (a QR code drawn on a transparent background reads as it looks
// on a page). *image.Gray and *image.YCbCr are used in place; *image.RGBA,
// *image.NRGBA, *image.Paletted and *image.Gray16 are converted row by row
// into buf; other types go through the image.Image interface.
func grayPlane(img image.Image, buf []byte) (plane, []byte) {
	r := img.Bounds()
	w, h := r.Dx(), r.Dy()
	switch m := img.(type) {
	case *image.Gray:
		return plane{pix: m.Pix[m.PixOffset(r.Min.X, r.Min.Y):], width: w, height: h, stride: m.Stride}, buf
	case *image.YCbCr:
		return plane{pix: m.Y[m.YOffset(r.Min.X, r.Min.Y):], width: w, height: h, stride: m.YStride}, buf
	}
	buf = grow(buf, w*h)
	p := plane{pix: buf, width: w, height: h, stride: w}
	switch m := img.(type) {
	case *image.RGBA:
		for y := 0; y < h; y++ {
			src := m.Pix[m.PixOffset(r.Min.X, r.Min.Y+y):][: 4*w : 4*w]
			dst := buf[y*w : y*w+w]
			for x := range dst {
				i := 4 * x
				// Premultiplied: over white adds the uncovered part.
				a := 255 - uint32(src[i+3])
				dst[x] = luma(uint32(src[i])+a, uint32(src[i+1])+a, uint32(src[i+2])+a)
			}
		}
	case *image.NRGBA:
		for y := 0; y < h; y++ {
			src := m.Pix[m.PixOffset(r.Min.X, r.Min.Y+y):][: 4*w : 4*w]
			dst := buf[y*w : y*w+w]
			for x := range dst {
				s := src[4*x : 4*x+4 : 4*x+4]
				l := uint32(luma(uint32(s[0]), uint32(s[1]), uint32(s[2])))
				if a := uint32(s[3]); a != 255 {
					l = (l*a + 255*(255-a) + 127) / 255
				}
				dst[x] = byte(l)
			}
		}
	case *image.Paletted:
		var lut [256]byte
		for i := range lut {
			lut[i] = 255 // indices outside the palette: treat as background
		}
		for i, c := range m.Palette {
			if i < len(lut) {
				lut[i] = over(c.RGBA())
			}
		}
		for y := 0; y < h; y++ {
			src := m.Pix[m.PixOffset(r.Min.X, r.Min.Y+y):][:w:w]
			dst := buf[y*w : y*w+w]
			for x, v := range src {
				dst[x] = lut[v]
			}
		}
	case *image.Gray16:
		for y := 0; y < h; y++ {
			src := m.Pix[m.PixOffset(r.Min.X, r.Min.Y+y):][: 2*w : 2*w]
			dst := buf[y*w : y*w+w]
			for x := range dst {
				dst[x] = src[2*x] // the high byte
			}
		}
	default:
		for y := 0; y < h; y++ {
			dst := buf[y*w : y*w+w]
			for x := range dst {
				dst[x] = over(img.At(r.Min.X+x, r.Min.Y+y).RGBA())
			}
		}
	}
	return p, buf
}

// over is the luma of a 16-bit premultiplied colour composed over white.
func over(r, g, b, a uint32) byte {
	bg := 0xffff - a
	return luma((r+bg)>>8, (g+bg)>>8, (b+bg)>>8)
}

// invert writes the negative of p into buf.
func invert(p plane, buf []byte) (plane, []byte) {
	buf = grow(buf, p.width*p.height)
	for y := 0; y < p.height; y++ {
		src := p.pix[y*p.stride : y*p.stride+p.width]
		dst := buf[y*p.width : y*p.width+p.width]
		for x, v := range src {
			dst[x] = 255 - v
		}
	}
	return plane{pix: buf, width: p.width, height: p.height, stride: p.width}, buf
}

// Contrast stretching applies to images whose central grey levels (from the
// 1st to the 99th percentile) span less than stretchBelow levels; gozxing's
// binarizers give up on blocks spanning fewer than 24.
const stretchBelow = 96

// stretch writes p with its grey levels spread over 0..255 into buf, for
// codes under dim light, behind glare or on a dimmed screen. ok is false when
// p's contrast is already wide enough (or nil), so the pass can be skipped.
func stretch(p plane, buf []byte) (_ plane, _ []byte, ok bool) {
	var hist [256]int
	for y := 0; y < p.height; y++ {
		for _, v := range p.pix[y*p.stride : y*p.stride+p.width] {
			hist[v]++
		}
	}
	n := p.width * p.height
	cut := n / 100
	lo, hi := 0, 255
	for acc := 0; lo < 255; lo++ {
		if acc += hist[lo]; acc > cut {
			break
		}
	}
	for acc := 0; hi > 0; hi-- {
		if acc += hist[hi]; acc > cut {
			break
		}
	}
	if hi-lo >= stretchBelow || hi-lo < 4 {
		return p, buf, false
	}
	var lut [256]byte
	for v := range lut {
		lut[v] = byte(max(0, min(255, (v-lo)*255/(hi-lo))))
	}
	buf = grow(buf, n)
	for y := 0; y < p.height; y++ {
		dst := buf[y*p.width : (y+1)*p.width]
		for x, v := range p.pix[y*p.stride : y*p.stride+p.width] {
			dst[x] = lut[v]
		}
	}
	return plane{pix: buf, width: p.width, height: p.height, stride: p.width}, buf, true
}

// halve writes p scaled down by two (each output pixel the mean of a 2x2
// block) into buf: it averages away sensor noise, JPEG ringing and fine
// texture, and gives the detector modules of a size it likes.
func halve(p plane, buf []byte) (plane, []byte) {
	w, h := p.width/2, p.height/2
	buf = grow(buf, w*h)
	for y := 0; y < h; y++ {
		r0 := p.pix[2*y*p.stride : 2*y*p.stride+2*w]
		r1 := p.pix[(2*y+1)*p.stride : (2*y+1)*p.stride+2*w]
		dst := buf[y*w : y*w+w]
		for x := range dst {
			dst[x] = byte((uint32(r0[2*x]) + uint32(r0[2*x+1]) + uint32(r1[2*x]) + uint32(r1[2*x+1]) + 2) >> 2)
		}
	}
	return plane{pix: buf, width: w, height: h, stride: w}, buf
}

// resample writes p scaled to w x h with bilinear interpolation into buf:
// up for codes whose modules are a pixel or two wide, a little down for
// noisy or blurred ones.
func resample(p plane, w, h int, buf []byte) (plane, []byte) {
	buf = grow(buf, w*h)
	// Output pixel centre x+0.5 maps to source (x+0.5)*sw/w - 0.5; weights
	// are in 1/256.
	xs := make([]int32, w)
	xw := make([]uint32, w)
	for x := range xs {
		sx := (float64(x)+0.5)*float64(p.width)/float64(w) - 0.5
		x0 := int(sx)
		if sx < 0 {
			x0, sx = 0, 0
		}
		if x0 >= p.width-1 {
			x0, sx = max(p.width-2, 0), float64(max(p.width-1, 0))
		}
		xs[x] = int32(x0)
		xw[x] = uint32((sx - float64(x0)) * 256)
	}
	last := p.width - 1
	for y := 0; y < h; y++ {
		sy := (float64(y)+0.5)*float64(p.height)/float64(h) - 0.5
		sy = max(0, min(sy, float64(p.height-1)))
		y0 := min(int(sy), max(p.height-2, 0))
		wy := uint32((sy - float64(y0)) * 256)
		y1 := min(y0+1, p.height-1)
		r0 := p.pix[y0*p.stride : y0*p.stride+p.width]
		r1 := p.pix[y1*p.stride : y1*p.stride+p.width]
		dst := buf[y*w : y*w+w]
		for x := range dst {
			x0 := int(xs[x])
			x1 := min(x0+1, last)
			wx := xw[x]
			top := (256-wx)*uint32(r0[x0]) + wx*uint32(r0[x1])
			bot := (256-wx)*uint32(r1[x0]) + wx*uint32(r1[x1])
			dst[x] = byte(((256-wy)*top + wy*bot + 1<<15) >> 16)
		}
	}
	return plane{pix: buf, width: w, height: h, stride: w}, buf
}

// pad writes p into buf with a border of margin pixels of value fill around
// it: a code printed or cropped without its quiet zone gets one back.
func pad(p plane, margin int, fill byte, buf []byte) (plane, []byte) {
	w, h := p.width+2*margin, p.height+2*margin
	buf = grow(buf, w*h)
	for i := range buf {
		buf[i] = fill
	}
	for y := 0; y < p.height; y++ {
		copy(buf[(y+margin)*w+margin:], p.pix[y*p.stride:y*p.stride+p.width])
	}
	return plane{pix: buf, width: w, height: h, stride: w}, buf
}
