package scanner

import (
	"math"
	"slices"

	"github.com/makiuchi-d/gozxing"
	multidetector "github.com/makiuchi-d/gozxing/multi/qrcode/detector"
	"github.com/makiuchi-d/gozxing/qrcode/detector"
)

// The search pass is the last resort of the ladder. gozxing's detector takes
// the three best finder patterns, rounds the distance between them to a
// number of modules and gives up when that number is not a valid QR size
// (4k+17); with a module size a little off — codes scaled by a fraction,
// blurred, turned — a version 20 code measures 99 modules instead of 97 and
// is lost; and it tries only the best triple of finder patterns, which
// clutter in a frame can outbid. The search takes every plausible triple,
// and for each gozxing's estimate then the nearest valid sizes to a second
// estimate, sampled with and without the alignment pattern, until one
// decodes.

// maxSearchTriples bounds the finder pattern triples the search tries, and
// so the time a cluttered frame without a code can cost.
const maxSearchTriples = 6

// searchSizes is how many candidate sizes the search samples per triple:
// the nearest valid size to the estimate and its neighbours.
const searchSizes = 3

// search runs the search pass on a binarized image.
func (d *Decoder) search(bits *gozxing.BitMatrix, hints map[gozxing.DecodeHintType]interface{}) (string, error) {
	infos, err := multidetector.NewMultiFinderPatternFinder(bits, nil).FindMulti(hints)
	if err != nil {
		return "", err
	}
	if len(infos) == 0 {
		return "", gozxing.NewNotFoundException("no finder pattern triple")
	}
	dec := d.qrDecoder
	det := detector.NewDetector(bits)
	var lastErr error = gozxing.NewNotFoundException("no size decoded")
	for _, info := range infos[:min(len(infos), maxSearchTriples)] {
		// gozxing's own estimate first (it measures the module size along
		// the lines between the finder patterns)...
		if r, err := det.ProcessFinderPatternInfo(info); err == nil {
			res, err := dec.Decode(r.GetBits(), nil)
			if err == nil {
				return res.GetText(), nil
			}
		}
		// ...then ours, from the finder patterns' own module sizes.
		tl, tr, bl := info.GetTopLeft(), info.GetTopRight(), info.GetBottomLeft()
		moduleSize := (tl.GetEstimatedModuleSize() + tr.GetEstimatedModuleSize() + bl.GetEstimatedModuleSize()) / 3
		if moduleSize < 1 {
			continue
		}
		est := (gozxing.ResultPoint_Distance(tl, tr)/moduleSize+gozxing.ResultPoint_Distance(tl, bl)/moduleSize)/2 + 7
		for _, dim := range candidateSizes(est) {
			// With the alignment pattern if there is one, then without: a
			// wrong one misleads the sampling more than none.
			aps := []*detector.AlignmentPattern{nil}
			if ap := findAlignment(bits, tl, tr, bl, dim, moduleSize); ap != nil {
				aps = []*detector.AlignmentPattern{ap, nil}
			}
			for _, a := range aps {
				transform := detector.Detector_createTransform(tl, tr, bl, a, dim)
				grid, err := detector.Detector_sampleGrid(bits, transform, dim)
				if err != nil {
					lastErr = err
					continue
				}
				res, err := dec.Decode(grid, nil)
				if err == nil {
					return res.GetText(), nil
				}
				lastErr = err
			}
		}
	}
	return "", lastErr
}

// candidateSizes returns the valid QR sizes (21, 25, …, 177 modules) nearest
// to the estimate est, nearest first.
func candidateSizes(est float64) []int {
	var sizes [searchSizes]int
	n := 0
	base := int(math.Round((est-17)/4))*4 + 17
	for _, dim := range []int{base, base - 4, base + 4, base - 8, base + 8} {
		if dim < 21 || dim > 177 || n == len(sizes) {
			continue
		}
		sizes[n] = dim
		n++
	}
	out := sizes[:n]
	slices.SortStableFunc(out, func(a, b int) int {
		da, db := math.Abs(float64(a)-est), math.Abs(float64(b)-est)
		switch {
		case da < db:
			return -1
		case da > db:
			return 1
		}
		return 0
	})
	return out
}

// findAlignment looks for the bottom-right alignment pattern of a code of
// dim modules with these finder patterns, as gozxing's detector does; nil
// when the version has none or it is not found.
func findAlignment(bits *gozxing.BitMatrix, tl, tr, bl gozxing.ResultPoint, dim int, moduleSize float64) *detector.AlignmentPattern {
	if dim <= 21 {
		return nil
	}
	between := float64(dim - 7)
	brX := tr.GetX() - tl.GetX() + bl.GetX()
	brY := tr.GetY() - tl.GetY() + bl.GetY()
	corr := 1 - 3/between
	estX := int(tl.GetX() + corr*(brX-tl.GetX()))
	estY := int(tl.GetY() + corr*(brY-tl.GetY()))
	for f := 4; f <= 16; f <<= 1 {
		allowance := int(float64(f) * moduleSize)
		left, right := max(estX-allowance, 0), min(estX+allowance, bits.GetWidth()-1)
		top, bottom := max(estY-allowance, 0), min(estY+allowance, bits.GetHeight()-1)
		if float64(right-left) < 3*moduleSize || float64(bottom-top) < 3*moduleSize {
			return nil
		}
		ap, err := detector.NewAlignmentPatternFinder(bits, left, top, right-left, bottom-top, moduleSize, nil).Find()
		if err == nil {
			return ap
		}
	}
	return nil
}
