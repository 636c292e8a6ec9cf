package scanner

import (
	"encoding/binary"

	"github.com/makiuchi-d/gozxing"
)

// hybridBinarizer is gozxing's HybridBinarizer (ZXing's local-threshold
// binarizer) computed the same way, bit for bit, but on our plane and about
// three times as fast: gozxing's spends most of a frame's decode time in
// [][]int black points and one BitMatrix.Set call per dark pixel. Here the
// black points live in one reused slice and each row is thresholded into
// whole 32-bit words.
//
// The algorithm: split the image into 8x8 blocks; a block's black point is
// its mean, or, when its range is at most 24 grey levels (a flat block),
// half its minimum or its neighbours' black point; each block is then
// thresholded at the mean black point of the 5x5 blocks around it. Blocks at
// the right and bottom edges are shifted inwards to stay whole, and a pixel
// two blocks cover is dark if either says so.
type hybridBinarizer struct {
	p      plane
	src    gozxing.LuminanceSource // for the interface; rows only on demand
	scr    *binarizeScratch
	matrix *gozxing.BitMatrix
}

// binarizeScratch holds the binarizer's buffers between calls.
type binarizeScratch struct {
	blackPoints []int32
	lanes       []uint64 // per block column: lane-wise sum, min and max of the current block row
	thresholds  []int32  // per block column, for the current block row
	words       []uint32 // the bit matrix being built, row by row
}

var _ gozxing.Binarizer = (*hybridBinarizer)(nil)

const (
	blockPower  = 3
	blockSize   = 1 << blockPower
	minDimRange = 24 // ZXing's MIN_DYNAMIC_RANGE
	minHybrid   = blockSize * 5
)

func (b *hybridBinarizer) GetLuminanceSource() gozxing.LuminanceSource { return b.src }
func (b *hybridBinarizer) GetWidth() int                               { return b.p.width }
func (b *hybridBinarizer) GetHeight() int                              { return b.p.height }

// GetBlackRow serves 1D readers, which this package does not use; it is
// gozxing's, as in ZXing's HybridBinarizer.
func (b *hybridBinarizer) GetBlackRow(y int, row *gozxing.BitArray) (*gozxing.BitArray, error) {
	return gozxing.NewGlobalHistgramBinarizer(b.src).GetBlackRow(y, row)
}

func (b *hybridBinarizer) CreateBinarizer(source gozxing.LuminanceSource) gozxing.Binarizer {
	return gozxing.NewHybridBinarizer(source)
}

func (b *hybridBinarizer) GetBlackMatrix() (*gozxing.BitMatrix, error) {
	if b.matrix != nil {
		return b.matrix, nil
	}
	p := b.p
	if p.width < minHybrid || p.height < minHybrid {
		// Too small for 5x5 blocks: ZXing falls back to the global histogram.
		return gozxing.NewGlobalHistgramBinarizer(b.src).GetBlackMatrix()
	}
	subW := (p.width + blockSize - 1) >> blockPower
	subH := (p.height + blockSize - 1) >> blockPower
	bp := b.blackPoints(subW, subH)

	rowSize := (p.width + 31) / 32
	s := b.scr
	s.words = grow32(s.words, rowSize*p.height)
	clear(s.words)
	s.thresholds = growI32(s.thresholds, subW)
	thr := s.thresholds
	maxX, maxY := p.width-blockSize, p.height-blockSize
	for by := range subH {
		yoff := min(by<<blockPower, maxY)
		top := min(max(by, 2), subH-3)
		// Each block's threshold: the mean black point of the 5x5 blocks
		// around it, the window held inside the image.
		for bx := range subW {
			left := min(max(bx, 2), subW-3)
			var sum int32
			for z := -2; z <= 2; z++ {
				row := bp[(top+z)*subW+left-2 : (top+z)*subW+left+3]
				sum += row[0] + row[1] + row[2] + row[3] + row[4]
			}
			thr[bx] = sum / 25
		}
		// Dark where luminance ≤ threshold ("≤ so that 0 stays black even
		// at threshold 0"). Bits are ORed in: the last block column and
		// row overlap their neighbours, and a pixel either marks dark is
		// dark, as with ZXing's BitMatrix.set.
		for y := yoff; y < yoff+blockSize; y++ {
			pix := p.pix[y*p.stride : y*p.stride+p.width]
			words := s.words[y*rowSize : (y+1)*rowSize]
			for bx, t := range thr[:subW] {
				xoff := min(bx<<blockPower, maxX)
				x := binary.LittleEndian.Uint64(pix[xoff : xoff+blockSize : xoff+blockSize])
				tl := uint64(t) * laneOnes
				bits := uint32(gatherLanes(laneGE(tl, x&laneLow)) | gatherLanes(laneGE(tl, x>>8&laneLow))<<1)
				w, sh := xoff>>5, uint(xoff&31)
				words[w] |= bits << sh
				if sh > 32-blockSize {
					words[w+1] |= bits >> (32 - sh)
				}
			}
		}
	}

	m, err := gozxing.NewBitMatrix(p.width, p.height)
	if err != nil {
		return nil, err
	}
	row := gozxing.NewBitArray(p.width)
	for y := range p.height {
		copy(row.GetBitArray(), s.words[y*rowSize:(y+1)*rowSize])
		m.SetRow(y, row)
	}
	b.matrix = m
	return m, nil
}

// blackPoints computes each block's black point into the scratch buffer.
func (b *hybridBinarizer) blackPoints(subW, subH int) []int32 {
	p := b.p
	s := b.scr
	s.blackPoints = growI32(s.blackPoints, subW*subH)
	bp := s.blackPoints
	s.lanes = grow64(s.lanes, 3*subW)
	sums, los, his := s.lanes[:subW], s.lanes[subW:2*subW], s.lanes[2*subW:]
	maxX, maxY := p.width-blockSize, p.height-blockSize
	for by := range subH {
		yoff := min(by<<blockPower, maxY)
		for bx := range subW {
			sums[bx], los[bx], his[bx] = 0, laneLow, 0
		}
		// Row by row through the block row: sequential reads, eight pixels
		// a load, lane-wise sums, minima and maxima.
		for y := yoff; y < yoff+blockSize; y++ {
			pix := p.pix[y*p.stride : y*p.stride+p.width]
			for bx := range sums {
				xoff := min(bx<<blockPower, maxX)
				x := binary.LittleEndian.Uint64(pix[xoff : xoff+blockSize : xoff+blockSize])
				even, odd := x&laneLow, x>>8&laneLow
				m := laneGE(even, odd) * 0xff
				hi, lo := even&m|odd&^m, odd&m|even&^m
				sums[bx] += even + odd
				los[bx] = laneMin(los[bx], lo)
				his[bx] = laneMax(his[bx], hi)
			}
		}
		for bx := range sums {
			lo, hi := laneReduceMin(los[bx]), laneReduceMax(his[bx])
			sl := sums[bx]
			sum := int32(sl&0xffff + sl>>16&0xffff + sl>>32&0xffff + sl>>48&0xffff)
			avg := sum >> (2 * blockPower)
			if hi-lo <= minDimRange {
				// A flat block: assume background (half its minimum)
				// unless its neighbours' black point says it is dark.
				avg = lo / 2
				if by > 0 && bx > 0 {
					nb := (bp[(by-1)*subW+bx] + 2*bp[by*subW+bx-1] + bp[(by-1)*subW+bx-1]) / 4
					if lo < nb {
						avg = nb
					}
				}
			}
			bp[by*subW+bx] = avg
		}
	}
	return bp
}

// The binarizer works on eight pixels at a time: a uint64 of eight bytes
// split into its even and odd bytes, each a uint64 of four 16-bit lanes
// holding values 0..255.
const (
	laneLow  = 0x00ff00ff00ff00ff // the low byte of each lane
	laneOnes = 0x0001000100010001 // 1 in each lane
	laneBit8 = 0x0100010001000100 // bit 8 of each lane
)

// laneGE is 1 in each lane where a ≥ b: 256+a-b has bit 8 set exactly then,
// and never borrows from the next lane.
func laneGE(a, b uint64) uint64 {
	return ((a | laneBit8) - b) >> 8 & laneOnes
}

// laneMax and laneMin are the lane-wise maximum and minimum.
func laneMax(a, b uint64) uint64 {
	m := laneGE(a, b) * 0xff
	return a&m | b&^m
}

func laneMin(a, b uint64) uint64 {
	m := laneGE(a, b) * 0xff
	return b&m | a&^m
}

// gatherLanes moves the low bits of the four lanes (bits 0, 16, 32, 48) to
// bits 0, 2, 4, 6: one multiplication copies each to bit 56+2i, with no
// carries as every partial product lands on a distinct bit.
func gatherLanes(x uint64) uint64 {
	return x * (1<<56 | 1<<42 | 1<<28 | 1<<14) >> 56 & 0x55
}

// laneReduce returns the maximum (or minimum) of the four lanes of x.
func laneReduceMax(x uint64) int32 {
	return int32(max(x&0xff, x>>16&0xff, x>>32&0xff, x>>48&0xff))
}

func laneReduceMin(x uint64) int32 {
	return int32(min(x&0xff, x>>16&0xff, x>>32&0xff, x>>48&0xff))
}

func grow64(buf []uint64, n int) []uint64 {
	if cap(buf) >= n {
		return buf[:n]
	}
	return make([]uint64, n)
}

func grow32(buf []uint32, n int) []uint32 {
	if cap(buf) >= n {
		return buf[:n]
	}
	return make([]uint32, n)
}

func growI32(buf []int32, n int) []int32 {
	if cap(buf) >= n {
		return buf[:n]
	}
	return make([]int32, n)
}
