package analysis_test

import (
	"math"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/poolprof/poolprof/analysis"
	"github.com/poolprof/poolprof/etl/etltest"
	"github.com/poolprof/poolprof/pool/pprof"
	"github.com/poolprof/poolprof/stacks"
)

// TestHugeSizesSaturate: a damaged trace claims allocations of 2^63 bytes
// and more. Sums stop at math.MaxInt64 instead of wrapping negative, so
// the stack reports and the pprof profile (whose values are signed, and
// which rejects negative ones) still come out. FuzzAnalysis found this.
func TestHugeSizesSaturate(t *testing.T) {
	b, err := etltest.New(etltest.Options{CPUs: 1})
	require.NoError(t, err)
	for i, size := range []uint64{1 << 63, math.MaxUint64, 1664} {
		_, err := b.Add(0, pagedAlloc(t, int64(1000*(i+1)), "Toke", size, 0xffffa00000001000+uint64(i)<<12))
		require.NoError(t, err)
	}
	res := analyze(t, b, analysis.Options{})
	require.Len(t, res.Pool.Outstanding, 3)

	// All three have no stack: one entry, its bytes saturated.
	counts := analysis.StackCounts(res)
	assert.Equal(t, stacks.Value{Count: 3, Bytes: math.MaxInt64}, counts.Get(0))
	root := counts.Tree(res.Stacks, res.Modules).Root()
	assert.Equal(t, stacks.Value{Count: 3, Bytes: math.MaxInt64}, root.Value)

	samples := analysis.ProfileSamples(res, nil)
	require.Len(t, samples, 1)
	assert.Equal(t, int64(3), samples[0].InuseObjects)
	assert.Equal(t, int64(math.MaxInt64), samples[0].InuseBytes)
	assert.Equal(t, int64(math.MaxInt64), samples[0].AllocBytes)
	_, err = pprof.Build(samples, analysis.ProfileFacts(res, "huge.etl"))
	assert.NoError(t, err)
}
