// These tests decode whole payloads of every event in the corpus through
// the etl reader, including the compressed files whose payloads the dumps
// only show in part (StackWalk definitions, ImageID, FileVersion). They
// are written against the reader API of docs/design.md (etl.Open,
// File.Events, File.Close) and build only with -tags etlreader until that
// reader lands; then drop the build tag.

package kernel

import (
	"fmt"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/poolprof/poolprof/etl"
	"github.com/poolprof/poolprof/internal/corpus"
)

// TestReaderCorpusDecode decodes every event of a known kind from the
// reader, checks the whole-payload invariants, and checks the number of
// events per (provider, header kind, opcode, version) against the
// independent parser's summary.
func TestReaderCorpusDecode(t *testing.T) {
	for _, path := range corpus.Files(t) {
		name := corpus.Name(path)
		t.Run(name, func(t *testing.T) {
			f, err := etl.Open(path)
			require.NoError(t, err)
			defer f.Close()

			got := map[string]int64{}
			var d Decoded
			i := 0
			for ev, err := range f.Events() {
				require.NoError(t, err)
				i++
				k, decodable := Identify(ev.Provider, ev.Opcode, ev.Version)
				if k == KindUnknown {
					continue
				}
				require.True(t, decodable, "event %d: %v v%d has no layout", i, k, ev.Version)
				if sawbuck64(name) && ev.Kind == etl.KindFullHeader32 {
					ev.Kind = etl.KindFullHeader64 // see sawbuck64
				}
				require.NoError(t, d.Decode(ev), "event %d", i)
				checkWhole(t, ev, i, &d)
				switch d.Kind {
				case KindStack:
					assert.Equal(t, (len(ev.Payload)-16)/ev.PointerSize(), d.Stack.NumFrames(), "event %d", i)
				case KindStackKeyDef:
					assert.Equal(t, len(ev.Payload)/ev.PointerSize()-1, d.KeyDef.NumFrames(), "event %d", i)
				case KindImageID:
					assert.Equal(t, len(ev.Payload), d.ImageID.Used, "event %d", i)
				case KindDbgIDRSDS, KindDbgIDILRSDS:
					assert.Equal(t, len(ev.Payload), d.DbgID.Used, "event %d", i)
				case KindImageFileVersion:
					assert.Equal(t, len(ev.Payload), d.FileVersion.Used, "event %d", i)
				}
				got[fmt.Sprintf("%v %v op=%d v=%d", ev.Provider, summaryKind(name, ev.Kind), ev.Opcode, ev.Version)]++
			}

			sum := corpus.ReadSummary(t, path)
			for key, n := range got {
				assert.Equal(t, sum.ByKey[key], n, "%s", key)
			}
			// And the other way: no event of a known kind went missing.
			for key, n := range sum.ByKey {
				var provider string
				var hk string
				var op uint8
				var v uint16
				if _, err := fmt.Sscanf(key, "%s %s op=%d v=%d", &provider, &hk, &op, &v); err != nil {
					continue // EVENT_HEADER keys carry an id= field
				}
				g, err := etl.ParseGUID(provider)
				require.NoError(t, err)
				if k, _ := Identify(g, op, v); k != KindUnknown {
					assert.Equal(t, n, got[key], "%s", key)
				}
			}
			total := int64(0)
			for _, n := range got {
				total += n
			}
			t.Logf("%d events of known kinds decoded", total)
		})
	}
}

// summaryKind undoes the sawbuck64 correction for comparison with the
// summary, which names the header kind as written.
func summaryKind(name string, k etl.HeaderKind) etl.HeaderKind {
	if sawbuck64(name) && k == etl.KindFullHeader64 {
		return etl.KindFullHeader32
	}
	return k
}
