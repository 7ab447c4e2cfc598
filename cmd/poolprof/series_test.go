package main

import (
	"encoding/csv"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestSummarySeries checks --series: Toke's line grows to the example's
// outstanding Toke bytes and count at the last bucket, with wall-clock
// times one bucket apart.
func TestSummarySeries(t *testing.T) {
	truth := truthOf(t)
	path := filepath.Join(t.TempDir(), "series.csv")
	runExample(t, "summary", "--series", path, "--bucket", "5m", "--series-top", "2")
	fh, err := os.Open(path)
	require.NoError(t, err)
	defer fh.Close()
	recs, err := csv.NewReader(fh).ReadAll()
	require.NoError(t, err)
	require.Equal(t, []string{"time", "tag", "bytes", "count"}, recs[0])
	var toke [][]string
	for _, r := range recs[1:] {
		if r[1] == "Toke" {
			toke = append(toke, r)
		}
	}
	require.Len(t, toke, 4, "20 minutes in 5-minute buckets")
	row := truth.Row("Toke", true)
	last := toke[len(toke)-1]
	assert.Equal(t, strconv.FormatUint(row.AIFOBytes, 10), last[2])
	assert.Equal(t, strconv.FormatUint(row.AIFOCount, 10), last[3])
	t0, err := time.Parse(time.RFC3339Nano, toke[0][0])
	require.NoError(t, err)
	t1, err := time.Parse(time.RFC3339Nano, toke[1][0])
	require.NoError(t, err)
	assert.Equal(t, 5*time.Minute, t1.Sub(t0))
	for i := 1; i < len(toke); i++ {
		prev, _ := strconv.ParseUint(toke[i-1][2], 10, 64)
		cur, _ := strconv.ParseUint(toke[i][2], 10, 64)
		assert.GreaterOrEqual(t, cur, prev, "the leak only grows")
	}
}
