package etltest

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/poolprof/poolprof/etl"
)

// Streaming to a seekable file keeps a bounded number of buffers alive,
// however many are written.
func TestStreamingMemoryBounded(t *testing.T) {
	for _, compressed := range []bool{false, true} {
		f, err := os.Create(filepath.Join(t.TempDir(), "big.etl"))
		require.NoError(t, err)
		defer f.Close()
		const cpus = 4
		b, err := NewWriter(f, Options{CPUs: cpus, BufferSize: 0x1000, Compressed: compressed})
		require.NoError(t, err)
		_, ok := b.out.(*seekSink)
		require.True(t, ok, "an *os.File streams")
		payload := make([]byte, 0x60)
		for i := range 20000 {
			_, err := b.Add(i%cpus, Record{Kind: etl.KindSystem64, HookID: 0x0E20, Timestamp: int64(i), Payload: payload})
			require.NoError(t, err)
			require.LessOrEqual(t, len(b.free), cpus+1)
		}
		require.NoError(t, b.Close())
		require.Greater(t, len(b.infos), 500)
		st, err := f.Stat()
		require.NoError(t, err)
		require.Equal(t, b.fileSize, st.Size())
	}
}
