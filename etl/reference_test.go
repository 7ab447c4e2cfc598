package etl_test

import (
	"encoding/hex"
	"os"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/poolprof/poolprof/etl"
	"github.com/poolprof/poolprof/internal/corpus"
)

// TestReferenceSwapsEventHeaderProvider shows where the reference parser is
// wrong: it reads EVENT_HEADER.ProviderId as a big-endian UUID. The bytes at
// record offset 0x18 of the first Microsoft-Windows-Kernel-Process event are
// d6 2c fb 22 7b 0e 2b 42 ...; as a Windows GUID (Data1..Data3 little-endian)
// they are {22fb2cd6-0e7b-422b-a0c7-2fad1fd0e716}, the provider's published
// GUID, while the reference reported d62cfb22-7b0e-2b42-... (its dump keeps
// that as provider_as_reported and corrects provider). We read the layout
// every other GUID in the file uses.
func TestReferenceSwapsEventHeaderProvider(t *testing.T) {
	name := corpus.Path(t, "microsoft-Tx/Process.etl")
	raw, err := os.ReadFile(name)
	require.NoError(t, err)
	f, err := etl.Open(name)
	require.NoError(t, err)
	defer f.Close()
	r := f.NewReader(etl.OrderFile)
	var ev etl.Event
	for ev.Kind != etl.KindEventHeader64 {
		require.NoError(t, r.Next(&ev))
	}
	buf := f.Buffers()[ev.Buffer]
	require.False(t, buf.Compressed(), "the bytes are read straight from the file")
	rec := buf.FileOffset + 0x48 + int64(ev.Offset)
	guidBytes := raw[rec+0x18 : rec+0x28]
	assert.Equal(t, "d62cfb227b0e2b42a0c72fad1fd0e716", hex.EncodeToString(guidBytes))
	assert.Equal(t, "22fb2cd6-0e7b-422b-a0c7-2fad1fd0e716", ev.Provider.String())

	ref := readDump(t, name)
	assert.Equal(t, ev.Provider.String(), ref[1].Provider, "the dump's corrected provider")
	// The big-endian reading of the same bytes is what the parser reported.
	be := hex.EncodeToString(guidBytes[0:4]) + "-" + hex.EncodeToString(guidBytes[4:6]) + "-" +
		hex.EncodeToString(guidBytes[6:8]) + "-" + hex.EncodeToString(guidBytes[8:10]) + "-" + hex.EncodeToString(guidBytes[10:16])
	assert.Equal(t, be, ref[1].ProviderAsReported)
}
