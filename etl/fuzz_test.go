package etl_test

import (
	"bytes"
	"errors"
	"io"
	"os"
	"path/filepath"
	"testing"

	"github.com/poolprof/poolprof/etl"
	"github.com/poolprof/poolprof/internal/corpus"
)

// FuzzReader opens arbitrary bytes and walks them both ways. Invariants: no
// panic; an error means a nil file; a walk ends at its first error; both
// walks return the same number of events; the time walk goes back in time
// only where it says so.
func FuzzReader(f *testing.F) {
	for _, name := range []string{"perfview/smallEtlFile.etl", "perfview/SelfDescribingSingleEvent.etl", "airbus-etl-parser/lxcore_kernel.etl"} {
		if b, err := os.ReadFile(filepath.Join(corpus.Dir(), name)); err == nil {
			f.Add(b)
		}
	}
	for _, seed := range fuzzSeeds(f) {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		file, err := etl.NewFile(bytes.NewReader(data), int64(len(data)))
		if err != nil {
			if file != nil {
				t.Fatal("error with a non-nil file")
			}
			var fe *etl.FormatError
			if !errors.As(err, &fe) {
				t.Fatalf("error is not a FormatError: %v", err)
			}
			return
		}
		counts := [2]int64{}
		for i, order := range []etl.Order{etl.OrderFile, etl.OrderTime} {
			r := file.NewReader(order)
			var ev etl.Event
			last := int64(-1 << 63)
			back := int64(0)
			for {
				err := r.Next(&ev)
				if err == io.EOF {
					break
				}
				if err != nil {
					if r.Next(&ev) == nil {
						t.Fatal("Next succeeded after an error")
					}
					break
				}
				if len(ev.Payload) > ev.Size {
					t.Fatalf("payload %d longer than record %d", len(ev.Payload), ev.Size)
				}
				if ev.Timestamp < last {
					back++
				}
				last = max(last, ev.Timestamp)
				counts[i]++
			}
			if order == etl.OrderTime && back != r.Stats().OutOfOrder {
				t.Fatalf("time order went back %d times, reader says %d", back, r.Stats().OutOfOrder)
			}
		}
		if counts[0] != counts[1] {
			t.Fatalf("file order gave %d events, time order %d", counts[0], counts[1])
		}
	})
}
