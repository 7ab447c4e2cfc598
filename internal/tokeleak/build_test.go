package tokeleak_test

import (
	"bytes"
	"os"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/poolprof/poolprof/internal/tokeleak"
)

// The committed example must be exactly what Build writes, so that its
// recipe and its Truth stay in step.
func TestCommittedFileIsBuildOutput(t *testing.T) {
	want, err := os.ReadFile(committedPath)
	require.NoError(t, err)
	got, _ := build(t, tokeleak.Committed)
	require.True(t, bytes.Equal(got, want),
		"%s (%d bytes) differs from Build(Committed) (%d bytes); regenerate it with go generate ./internal/tokeleak",
		committedPath, len(want), len(got))
	assert.Less(t, len(want), 1<<20, "the committed example should stay below 1 MiB")
}

func TestBuildIsDeterministic(t *testing.T) {
	var a, b bytes.Buffer
	_, err := tokeleak.Build(&a, small)
	require.NoError(t, err)
	_, err = tokeleak.Build(&b, small)
	require.NoError(t, err)
	require.True(t, bytes.Equal(a.Bytes(), b.Bytes()))

	o := small
	o.Seed++
	var c bytes.Buffer
	_, err = tokeleak.Build(&c, o)
	require.NoError(t, err)
	require.False(t, bytes.Equal(a.Bytes(), c.Bytes()), "the seed changes the trace")
}

// Compression changes the buffers, not the events nor the truth.
func TestCompressedAndRawHoldTheSameEvents(t *testing.T) {
	o := small
	rawData, rawTruth := build(t, o)
	o.Compressed = true
	compData, compTruth := build(t, o)
	require.Less(t, len(compData), len(rawData)/2)
	require.Equal(t, rawTruth.Rows, compTruth.Rows)
	require.Equal(t, rawTruth.Events, compTruth.Events)

	rawEvs := readAll(t, open(t, rawData))
	compEvs := readAll(t, open(t, compData))
	require.Len(t, compEvs, len(rawEvs))
	require.EqualValues(t, 0, rawEvs[0].HookID)
	for i := 1; i < len(rawEvs); i++ { // past the logfile header, which differs
		r, c := rawEvs[i], compEvs[i]
		require.Equal(t, r.Timestamp, c.Timestamp, "event %d", i)
		require.Equal(t, r.Payload, c.Payload, "event %d", i)
	}
}

func TestOptions(t *testing.T) {
	_, err := tokeleak.Build(&bytes.Buffer{}, tokeleak.Options{Leaked: -1})
	require.Error(t, err)
	_, err = tokeleak.Build(&bytes.Buffer{}, tokeleak.Options{Duration: 1})
	require.Error(t, err)

	_, tr := build(t, small)
	assert.Equal(t, small.Leaked, tr.Options.Leaked)
	assert.Equal(t, small.Duration, tr.Options.Duration)
	_, tr = build(t, tokeleak.Committed)
	assert.Equal(t, tokeleak.DefaultLeaked, tr.Options.Leaked)
	assert.Equal(t, tokeleak.DefaultBackground, tr.Options.Background)
	assert.Equal(t, tokeleak.DefaultDuration, tr.Options.Duration)
	assert.Equal(t, uint64(tokeleak.DefaultSeed), tr.Options.Seed)
	assert.True(t, tr.Options.Compressed)
}
