// Package scanner is tixgate's QR layer: it renders ticket codes to QR
// images, decodes QR codes from image files and raw camera frames, and reads
// hardware scanners that type one code per line (keyboard wedges, serial
// ports).
//
// It is the only package that imports the QR libraries (go-qrcode to draw,
// gozxing to read). Everything above it sees text in and text out: a code is a
// string, and what that string means is the business of package ticket.
//
// The hot path is a gate camera: [DecodeGray] and [DecodeYUV] take an 8-bit
// luminance plane as the camera delivers it and hand it to the decoder
// without touching each pixel through an interface. When the cheap first
// pass finds nothing, the [Decoder] walks a ladder of fallbacks (another
// binarizer, the inverted image, rescaled and contrast-stretched images, a
// search over every finder pattern triple and nearby code sizes, an added
// quiet zone) before it reports [ErrNoCode]; [CameraConfig] keeps that
// ladder short for live frames.
//
// The package must never:
//   - interpret, verify or log the text of a code (it may be a bearer
//     credential);
//   - panic, whatever bytes or frame it is given: malformed input is an
//     error, and an image that declares more than a bounded number of pixels
//     is refused before it is decoded;
//   - keep global mutable state: a [Decoder] holds its own buffers and is
//     not safe for concurrent use, the package functions are;
//   - do I/O beyond the reader it is handed.
package scanner
