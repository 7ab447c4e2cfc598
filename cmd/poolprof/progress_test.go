package main

import (
	"bytes"
	"os"
	"testing"

	"github.com/stretchr/testify/assert"
)

func TestProgressDrawsOnlyWhenEnabled(t *testing.T) {
	var buf bytes.Buffer
	p := newProgress(&buf, "trace.etl", 200<<20)
	assert.False(t, p.enabled, "a writer that is not a terminal gets no progress line")
	p.update(100 << 20)
	p.finish()
	assert.Empty(t, buf.String())

	p.enabled = true // as on a terminal
	p.update(100 << 20)
	assert.Contains(t, buf.String(), "\rtrace.etl [===============               ]  50% 104.9 MB/209.7 MB")
	n := buf.Len()
	p.update(150 << 20) // within 100 ms of the last: not redrawn
	assert.Equal(t, n, buf.Len())
	p.finish()
	assert.Equal(t, "\r\x1b[K", buf.String()[n:], "finish clears the line")
}

func TestProgressSkipsSmallFilesAndPipes(t *testing.T) {
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	defer w.Close()
	assert.False(t, newProgress(w, "x", 1<<30).enabled, "a pipe is not a terminal")
	assert.False(t, newProgress(os.Stderr, "x", 1<<20).enabled, "small files finish too fast to need one")
}
