package scanner

import "fmt"

// PixelFormat is the memory layout of a camera frame.
type PixelFormat int

const (
	// Gray: one 8-bit luminance plane (V4L2 GREY, Y8).
	Gray PixelFormat = iota
	// NV12: the Y plane, then interleaved Cb/Cr at half resolution (Android,
	// most ISPs). NV21 is the same with Cr/Cb.
	NV12
	NV21
	// I420: the Y plane, then the Cb and the Cr planes at half resolution
	// (YU12). YV12 is the same with Cr before Cb.
	I420
	YV12
	// YUYV: packed 4:2:2, Y0 Cb Y1 Cr (YUY2, most USB webcams).
	YUYV
	// UYVY: packed 4:2:2, Cb Y0 Cr Y1.
	UYVY
)

var pixelFormatNames = []string{"gray", "nv12", "nv21", "i420", "yv12", "yuyv", "uyvy"}

func (f PixelFormat) String() string {
	if f >= 0 && int(f) < len(pixelFormatNames) {
		return pixelFormatNames[f]
	}
	return fmt.Sprintf("PixelFormat(%d)", int(f))
}

// DecodeYUV reads the QR code in a camera frame with a thorough decoder. See
// Decoder.DecodeYUV.
func DecodeYUV(frame []byte, format PixelFormat, width, height, stride int) (string, error) {
	return NewDecoder(DefaultConfig()).DecodeYUV(frame, format, width, height, stride)
}

// DecodeYUV reads the QR code in a camera frame of the given format. A QR
// code needs luminance only, so only the Y samples are read: for the planar
// formats (Gray, NV12, NV21, I420, YV12) that is the first plane, used in
// place as by DecodeGray, and frame need only hold it; the packed formats
// (YUYV, UYVY) have their Y samples gathered into the decoder's buffer
// first. stride is the distance in bytes between rows of the Y plane (of
// the packed frame for YUYV and UYVY: at least 2*width).
func (d *Decoder) DecodeYUV(frame []byte, format PixelFormat, width, height, stride int) (string, error) {
	switch format {
	case Gray, NV12, NV21, I420, YV12:
		if err := checkPlane(frame, width, height, stride, d.cfg.MaxPixels); err != nil {
			return "", fmt.Errorf("decode %v frame: %w", format, err)
		}
		text, err := d.decode(plane{pix: frame, width: width, height: height, stride: stride})
		if err != nil {
			return "", fmt.Errorf("decode %v frame: %w", format, err)
		}
		return text, nil
	case YUYV, UYVY:
		if err := checkSize(width, height, d.cfg.MaxPixels); err != nil {
			return "", fmt.Errorf("decode %v frame: %w", format, err)
		}
		if width%2 != 0 {
			return "", fmt.Errorf("decode %v frame: width %d is odd", format, width)
		}
		// Two bytes a pixel: check it as a plane of 2*width bytes a row.
		if err := checkPlane(frame, 2*width, height, stride, 2*d.cfg.MaxPixels); err != nil {
			return "", fmt.Errorf("decode %v frame: %w", format, err)
		}
		first := 0 // offset of the first Y sample in a pixel pair
		if format == UYVY {
			first = 1
		}
		d.gray = grow(d.gray, width*height)
		for y := 0; y < height; y++ {
			src := frame[y*stride : y*stride+2*width]
			dst := d.gray[y*width : y*width+width]
			for x := range dst {
				dst[x] = src[2*x+first]
			}
		}
		text, err := d.decode(plane{pix: d.gray, width: width, height: height, stride: width})
		if err != nil {
			return "", fmt.Errorf("decode %v frame: %w", format, err)
		}
		return text, nil
	}
	return "", fmt.Errorf("decode frame: unknown pixel format %v", format)
}
