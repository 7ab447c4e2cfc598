package etl_test

import (
	"testing"

	"github.com/poolprof/poolprof/etl"
	"github.com/poolprof/poolprof/etl/etltest"
)

// fuzzSeeds returns small generated files, one per header kind, raw and
// compressed, so the fuzzer starts from every record layout.
func fuzzSeeds(t testing.TB) [][]byte {
	var seeds [][]byte
	for i, k := range decodedKinds {
		for _, compressed := range []bool{false, true} {
			ptr := 8
			if i%2 == 0 {
				ptr = 4
			}
			data, _ := buildTrace(t, etltest.Options{PointerSize: ptr, CPUs: 2, BufferSize: 1024, Compressed: compressed},
				[]etl.HeaderKind{k, etl.KindPerfInfo64}, 12, uint64(i))
			seeds = append(seeds, data)
		}
	}
	return seeds
}
