package record

import (
	"bytes"
	"crypto/ed25519"
	"runtime"
	"sort"
	"sync"
)

// VerifyBatch decodes records and checks their signatures; errs[i] is nil
// when raws[i] decoded to recs[i] and verified. key returns the public key
// of a record's origin, or an error when the origin is not to be trusted
// for it.
//
// Records of one origin that follow each other — each naming the hash of
// the one before it — form a run, and the origin's signature on the last
// record of a run covers every record before it through the hash chain: one
// signature check and a SHA-256 per record authenticate the whole run. A
// run whose last signature fails is checked record by record, so a bad
// record is named and the good ones kept. Runs are checked on every core.
func VerifyBatch(raws [][]byte, key func(*Record) (ed25519.PublicKey, error)) (recs []Record, errs []error) {
	recs = make([]Record, len(raws))
	errs = make([]error, len(raws))
	hashes := make([]Hash, len(raws))
	keys := make([]ed25519.PublicKey, len(raws))
	var order []int
	for i, raw := range raws {
		r, err := Unmarshal(raw)
		if err == nil {
			keys[i], err = key(&r)
		}
		if err != nil {
			errs[i] = err
			continue
		}
		recs[i] = r
		hashes[i] = HashOf(raw)
		order = append(order, i)
	}
	sort.Slice(order, func(a, b int) bool {
		ra, rb := &recs[order[a]], &recs[order[b]]
		if ra.Origin != rb.Origin {
			return bytes.Compare(ra.Origin[:], rb.Origin[:]) < 0
		}
		return ra.Seq < rb.Seq
	})
	var runs [][]int
	for k, i := range order {
		if k > 0 {
			p := order[k-1]
			r := &recs[i]
			if recs[p].Origin == r.Origin && recs[p].Seq+1 == r.Seq && hashes[p] == r.Prev {
				runs[len(runs)-1] = append(runs[len(runs)-1], i)
				continue
			}
		}
		runs = append(runs, []int{i})
	}
	verify := func(i int) { errs[i] = recs[i].Verify(keys[i]) }
	checkRun := func(run []int) {
		last := run[len(run)-1]
		verify(last)
		if errs[last] == nil {
			return
		}
		for _, i := range run[:len(run)-1] {
			verify(i)
		}
	}
	workers := min(runtime.GOMAXPROCS(0), len(runs))
	var wg sync.WaitGroup
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for k := w; k < len(runs); k += workers {
				checkRun(runs[k])
			}
		}()
	}
	wg.Wait()
	return recs, errs
}
