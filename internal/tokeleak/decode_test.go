package tokeleak_test

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/poolprof/poolprof/etl/kernel"
	"github.com/poolprof/poolprof/internal/tokeleak"
)

// Every event of the example decodes with etl/kernel, every payload byte
// accounted for, and the rundown names what the Truth says.
func TestKernelDecodesEveryEvent(t *testing.T) {
	data, tr := build(t, tokeleak.Committed)
	var d kernel.Decoded
	kinds := map[kernel.Kind]int{}
	procs := map[uint32]string{}
	sids := map[uint32]string{}
	type imageKey struct {
		base uint64
		pid  uint32
	}
	origNames := map[imageKey]string{}
	pdbs := map[imageKey]string{}
	for _, ev := range readAll(t, open(t, data)) {
		require.NoError(t, d.Decode(ev), "event at %d, buffer %d offset %#x", ev.Timestamp, ev.Buffer, ev.Offset)
		require.NotEqual(t, kernel.KindUnknown, d.Kind, "hook %#x opcode %d", ev.HookID, ev.Opcode)
		kinds[d.Kind]++
		var used int
		switch d.Kind {
		case kernel.KindPoolAlloc, kernel.KindPoolFree:
			used = d.Pool.Used
		case kernel.KindStack:
			used = d.Stack.Used
		case kernel.KindStackKeyDef:
			used = d.KeyDef.Used
		case kernel.KindStackKeyRef:
			used = d.KeyRef.Used
		case kernel.KindImageDCStart, kernel.KindImageLoad:
			used = d.Image.Used
		case kernel.KindImageID:
			used = d.ImageID.Used
			origNames[imageKey{d.ImageID.ImageBase, d.ImageID.ProcessID}] = d.ImageID.OriginalFileName.String()
		case kernel.KindDbgIDRSDS:
			used = d.DbgID.Used
			pdbs[imageKey{d.DbgID.ImageBase, d.DbgID.ProcessID}] = d.DbgID.PDBFileName.String()
		case kernel.KindProcessDCStart:
			used = d.Process.Used
			procs[d.Process.ProcessID] = d.Process.ImageFileName.String()
			sids[d.Process.ProcessID] = string(d.Process.UserSID.Append(nil))
		case kernel.KindThreadDCStart:
			used = d.Thread.Used
		case kernel.KindTraceHeader:
			continue
		case kernel.KindTraceExtension:
			used = d.Extension.Used
			assert.True(t, d.Extension.GroupMasks[1]&0x40 != 0, "PERF_POOL enabled")
		default:
			t.Fatalf("unexpected kind %v", d.Kind)
		}
		require.Equal(t, len(ev.Payload), used, "%v event at %d leaves bytes undecoded", d.Kind, ev.Timestamp)
	}
	assert.Equal(t, len(tr.Allocations), kinds[kernel.KindPoolAlloc])
	assert.Equal(t, len(tr.Frees), kinds[kernel.KindPoolFree])
	for _, p := range tokeleak.Processes {
		assert.Equal(t, p.Name, procs[p.PID])
		assert.Equal(t, p.SID, sids[p.PID])
	}
	for _, im := range tr.Images {
		k := imageKey{im.Base, im.PID}
		assert.Equal(t, im.OriginalName, origNames[k], im.Path)
		assert.Equal(t, im.PDB, pdbs[k], im.Path)
	}
}
