package etltest_test

import (
	"io"
	"testing"

	"github.com/poolprof/poolprof/etl"
	"github.com/poolprof/poolprof/etl/etltest"
)

// BenchmarkAdd measures the builder alone (io.Discard keeps nothing):
// bytes are the encoded record sizes.
func BenchmarkAdd(b *testing.B) {
	for _, compressed := range []bool{false, true} {
		name := map[bool]string{false: "raw", true: "compressed"}[compressed]
		b.Run(name, func(b *testing.B) {
			w, err := etltest.NewWriter(io.Discard, etltest.Options{CPUs: 8, Compressed: compressed})
			if err != nil {
				b.Fatal(err)
			}
			r := etltest.Record{Kind: etl.KindSystem64, HookID: 0x0E20, Version: 2, Payload: make([]byte, 0x38)}
			b.SetBytes(0x58)
			b.ReportAllocs()
			i := 0
			for b.Loop() {
				r.Timestamp = int64(i)
				r.Payload[0] = byte(i)
				if _, err := w.Add(i&7, r); err != nil {
					b.Fatal(err)
				}
				i++
			}
			if err := w.Close(); err != nil {
				b.Fatal(err)
			}
		})
	}
}
