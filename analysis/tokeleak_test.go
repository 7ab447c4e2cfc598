package analysis_test

import (
	"bytes"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/poolprof/poolprof/analysis"
	"github.com/poolprof/poolprof/etl"
	"github.com/poolprof/poolprof/internal/tokeleak"
	"github.com/poolprof/poolprof/pool"
	"github.com/poolprof/poolprof/stacks"
)

// buildExample writes the bundled example trace in memory and returns it
// opened, with the numbers its generator intended.
func buildExample(t testing.TB, opts tokeleak.Options) (*etl.File, *tokeleak.Truth) {
	t.Helper()
	var buf bytes.Buffer
	truth, err := tokeleak.Build(&buf, opts)
	require.NoError(t, err)
	f, err := etl.NewFile(bytes.NewReader(buf.Bytes()), int64(buf.Len()))
	require.NoError(t, err)
	return f, truth
}

// TestExampleRows checks every summary row of the bundled example against
// the generator's bookkeeping.
func TestExampleRows(t *testing.T) {
	f, truth := buildExample(t, tokeleak.Committed)
	res, err := analysis.Run(f, analysis.Options{})
	require.NoError(t, err)
	got := pool.Summary(res.Pool, pool.ReportOptions{})
	require.Len(t, got.Rows, len(truth.Rows))
	want := map[string]tokeleak.Row{}
	for _, r := range truth.Rows {
		want[r.Tag+"/"+boolString(r.Paged)] = r
	}
	for _, r := range got.Rows {
		w, ok := want[r.Tag+"/"+boolString(r.Paged)]
		if !assert.True(t, ok, "unexpected row %q paged=%v", r.Tag, r.Paged) {
			continue
		}
		assert.Equal(t, w.Allocs, r.Allocs, "%s allocs", r.Tag)
		assert.Equal(t, w.Frees, r.Frees, "%s frees", r.Tag)
		assert.Equal(t, w.AIFOCount, r.AIFOCount, "%s aifo_count", r.Tag)
		assert.Equal(t, w.AIFOBytes, r.AIFOBytes, "%s aifo_bytes", r.Tag)
		assert.Equal(t, w.AIFICount, r.AIFICount, "%s aifi_count", r.Tag)
		assert.Equal(t, w.AIFIBytes, r.AIFIBytes, "%s aifi_bytes", r.Tag)
		assert.Equal(t, w.AOFICount, r.AOFICount, "%s aofi_count", r.Tag)
		assert.Equal(t, w.LostFrees, r.LostFrees, "%s lost_frees", r.Tag)
	}
	// The story's headline numbers.
	toke := want["Toke/paged"]
	assert.Equal(t, uint64(6189), toke.AIFOCount)
	n1664, bytes1664 := truth.Count("Toke", 1664, tokeleak.AIFO)
	assert.Equal(t, 6043, n1664)
	assert.Equal(t, uint64(6043*1664), bytes1664)
	assert.Zero(t, res.Health.ProblemCount)
	assert.Empty(t, res.Health.NotDecoded)
}

// TestExampleTokeStacks checks the folded Toke AIFO stacks, named
// module+0xRVA, against the generator's.
func TestExampleTokeStacks(t *testing.T) {
	f, truth := buildExample(t, tokeleak.Committed)
	res, err := analysis.Run(f, analysis.Options{})
	require.NoError(t, err)
	var counts stacks.Counts
	toke, err := pool.ParseTag("Toke")
	require.NoError(t, err)
	for _, a := range res.Pool.Outstanding {
		if a.Tag == toke && a.Lifetime == pool.AIFO {
			counts.Add(stacks.Ref(a.Stack), 1, int64(a.Size))
		}
	}
	got := counts.Samples(res.Stacks, res.Modules)
	want := truth.TokeAIFO
	require.Len(t, got, len(want))
	for i := range want {
		assert.Equal(t, want[i].Frames, got[i].Frames, "stack %d", i)
		assert.Equal(t, int64(want[i].Count), got[i].Count, "stack %d count", i)
		assert.Equal(t, int64(want[i].Bytes), got[i].Bytes, "stack %d bytes", i)
	}
	assert.Equal(t, "ntkrnlmp.exe+0x5a3b10", got[0].Frames[2], "SepDuplicateToken, below ExAllocatePoolWithTag and ObCreateObject")
}

func boolString(paged bool) string {
	if paged {
		return "paged"
	}
	return "nonpaged"
}
