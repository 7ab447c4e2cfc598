package analysis_test

import (
	"bytes"
	"encoding/binary"
	"math"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/poolprof/poolprof/analysis"
	"github.com/poolprof/poolprof/etl"
	"github.com/poolprof/poolprof/etl/etltest"
	"github.com/poolprof/poolprof/pool"
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
	toke, err := pool.ParseTag("Toke")
	require.NoError(t, err)
	for i, size := range []uint64{1 << 63, math.MaxUint64, 1664} {
		p := make([]byte, 24)
		binary.LittleEndian.PutUint32(p[0:], 1) // PagedPool
		binary.LittleEndian.PutUint32(p[4:], toke)
		binary.LittleEndian.PutUint64(p[8:], size)
		binary.LittleEndian.PutUint64(p[16:], 0xffffa00000001000+uint64(i)<<12)
		_, err := b.Add(0, etltest.Record{Kind: etl.KindPerfInfo64, HookID: 0x0E20, Version: 2, Timestamp: int64(1000 * (i + 1)), Payload: p})
		require.NoError(t, err)
	}
	data, err := b.Bytes()
	require.NoError(t, err)
	f, err := etl.NewFile(bytes.NewReader(data), int64(len(data)))
	require.NoError(t, err)
	res, err := analysis.Run(f, analysis.Options{})
	require.NoError(t, err)
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
