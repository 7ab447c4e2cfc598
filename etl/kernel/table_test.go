package kernel

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/poolprof/poolprof/etl"
)

func TestLookup(t *testing.T) {
	for _, tc := range []struct {
		provider etl.GUID
		opcode   uint8
		want     Kind
	}{
		{PoolGUID, 32, KindPoolAlloc},
		{PoolGUID, 35, KindPoolFree},
		{PoolGUID, 38, KindPoolPage},
		{PoolGUID, 47, KindPoolSnapshot},
		{PoolGUID, 31, KindUnknown},
		{PoolGUID, 48, KindUnknown},
		{StackWalkGUID, 32, KindStack},
		{StackWalkGUID, 33, KindUnknown},
		{StackWalkGUID, 34, KindStackKeyDef},
		{StackWalkGUID, 36, KindStackKeyDef},
		{StackWalkGUID, 37, KindStackKeyRef},
		{StackWalkGUID, 38, KindStackKeyRef},
		{ImageGUID, 10, KindImageLoad},
		{ProcessGUID, 10, KindImageLoad}, // hook 0x030A if a producer leaves it under Process
		{ImageGUID, 2, KindImageUnload},
		{ImageGUID, 3, KindImageDCStart},
		{ImageGUID, 4, KindImageDCEnd},
		{ImageGUID, 33, KindImageKernelBase},
		{ImageGUID, 34, KindUnknown}, // HypercallPage: not needed
		{ImageIDGUID, 0, KindImageID},
		{ImageIDGUID, 32, KindImageIDNone},
		{ImageIDGUID, 36, KindDbgIDRSDS},
		{ImageIDGUID, 37, KindDbgIDILRSDS},
		{ImageIDGUID, 38, KindUnknown}, // DbgPPDB
		{ImageIDGUID, 64, KindImageFileVersion},
		{ProcessGUID, 1, KindProcessStart},
		{ProcessGUID, 2, KindProcessEnd},
		{ProcessGUID, 3, KindProcessDCStart},
		{ProcessGUID, 4, KindProcessDCEnd},
		{ProcessGUID, 39, KindProcessDefunct},
		{ProcessGUID, 11, KindUnknown}, // Terminate
		{ThreadGUID, 1, KindThreadStart},
		{ThreadGUID, 4, KindThreadDCEnd},
		{ThreadGUID, 36, KindUnknown}, // CSwitch
		{EventTraceGUID, 0, KindTraceHeader},
		{EventTraceGUID, 5, KindTraceExtension},
		{EventTraceGUID, 32, KindTraceEndExtension},
		{EventTraceGUID, 80, KindPartitionInfo},
		{EventTraceGUID, 8, KindUnknown},
		{etl.MustParseGUID("ce1dbfb4-137e-4da6-87b0-3f59aa102cbc"), 46, KindUnknown},
		{etl.GUID{}, 0, KindUnknown},
	} {
		ev := event(etl.KindSystem64, tc.provider, tc.opcode, 2, nil)
		assert.Equal(t, tc.want, Lookup(ev), "%v opcode %d", tc.provider, tc.opcode)
		k, _ := Identify(tc.provider, tc.opcode, 2)
		assert.Equal(t, tc.want, k)
	}
}

// The reader reports hook 0x030A with the Image GUID, group 3, opcode 10.
func TestHook030AIsImageLoad(t *testing.T) {
	rec := le(uint16(3), uint8(2), uint8(0xC0), uint16(0x20+56+4), uint16(0x030A), uint32(0x10), uint32(0x200),
		uint64(99), uint64(0),
		uint64(0x7FF800000000), uint64(0x1000), uint32(0x200), uint32(0), uint32(0), uint32(0), uint64(0x7FF800000000),
		make([]byte, 16), utf16z("a"))
	ev := eventFromRecord(t, rec)
	assert.Equal(t, uint8(3), ev.Group)
	require.Equal(t, KindImageLoad, Lookup(ev))
	var im Image
	require.NoError(t, im.Decode(ev))
	assert.Equal(t, uint8(10), im.Op)
	assert.Equal(t, uint32(0x200), im.ProcessID)
	assert.Equal(t, "a", im.FileName.String())
}

func TestIdentifyVersions(t *testing.T) {
	for _, tc := range []struct {
		provider  etl.GUID
		opcode    uint8
		version   uint16
		decodable bool
	}{
		{ProcessGUID, 1, 2, false},
		{ProcessGUID, 1, 3, true},
		{ProcessGUID, 39, 5, true},
		{ProcessGUID, 1, 9, true}, // newer versions append fields
		{ThreadGUID, 1, 0, false},
		{ThreadGUID, 1, 1, false},
		{ThreadGUID, 1, 2, true},
		{ImageGUID, 10, 0, true},
		{ImageGUID, 10, 4, true},
		{PoolGUID, 32, 0, true},
		{ImageIDGUID, 64, 0, true},
	} {
		_, ok := Identify(tc.provider, tc.opcode, tc.version)
		assert.Equal(t, tc.decodable, ok, "%v/%d v%d", tc.provider, tc.opcode, tc.version)
	}
}

func TestDecodeErrors(t *testing.T) {
	t.Run("version", func(t *testing.T) {
		ev := event(etl.KindSystem64, ProcessGUID, 1, 2, make([]byte, 200))
		ev.Buffer, ev.Offset = 7, 0x1a0
		var p Process
		err := p.Decode(ev)
		var de *DecodeError
		require.ErrorAs(t, err, &de)
		assert.ErrorIs(t, err, ErrVersion)
		assert.Equal(t, KindProcessStart, de.Kind)
		assert.Equal(t, 7, de.Buffer)
		assert.Equal(t, 0x1a0, de.Offset)
		assert.Equal(t, "kernel: ProcessStart (3d6fa8d0-fe05-11d0-9dda-00c04fd7ba7c) opcode 1 v2 SYSTEM64 in buffer 7 at offset 0x1a0: unsupported event version", err.Error())
		// Decoded reports the same, with the kind set.
		var d Decoded
		assert.ErrorIs(t, d.Decode(ev), ErrVersion)
		assert.Equal(t, KindProcessStart, d.Kind)
	})
	t.Run("wrong decoder", func(t *testing.T) {
		var im Image
		err := im.Decode(event(etl.KindSystem64, PoolGUID, 32, 2, make([]byte, 24)))
		assert.ErrorIs(t, err, ErrWrongDecoder)
		err = im.Decode(event(etl.KindSystem64, etl.GUID{Data1: 1}, 32, 2, nil))
		assert.ErrorIs(t, err, ErrWrongDecoder)
		assert.Contains(t, err.Error(), "kernel: 00000001-0000-0000-0000-000000000000 opcode 32 v2")
		var kb KernelBase
		assert.ErrorIs(t, kb.Decode(event(etl.KindSystem64, ImageGUID, 10, 3, make([]byte, 100))), ErrWrongDecoder)
	})
	t.Run("pointer size", func(t *testing.T) {
		var pe PoolEvent
		for _, hk := range []etl.HeaderKind{etl.KindMessage, etl.KindError, 0x7F} {
			assert.ErrorIs(t, pe.Decode(event(hk, PoolGUID, 32, 2, make([]byte, 32))), ErrPointerSize, "%v", hk)
		}
	})
	t.Run("short", func(t *testing.T) {
		ev := event(etl.KindPerfInfo64, PoolGUID, 34, 2, make([]byte, 20))
		ev.Buffer, ev.Offset = 3, 0x88
		var pe PoolEvent
		err := pe.Decode(ev)
		var de *DecodeError
		require.ErrorAs(t, err, &de)
		assert.Equal(t, DecodeError{Kind: KindPoolFree, Provider: PoolGUID, Header: etl.KindPerfInfo64, Opcode: 34, Version: 2,
			PayloadLen: 20, Field: "Entry", Need: 24, Buffer: 3, Offset: 0x88, Err: ErrShort}, *de)
		assert.Equal(t, "kernel: PoolFree (0268a8b6-74fd-4302-9dd0-6e8f1795c0cf) opcode 34 v2 PERFINFO64 in buffer 3 at offset 0x88: payload too short: Entry needs 24 bytes, payload has 20", err.Error())
	})
	t.Run("unknown kind is not an error for Decoded", func(t *testing.T) {
		var d Decoded
		assert.NoError(t, d.Decode(event(etl.KindSystem64, ThreadGUID, 36, 2, nil)))
		assert.Equal(t, KindUnknown, d.Kind)
	})
}

func TestKindString(t *testing.T) {
	for k := Kind(0); k < numKinds; k++ {
		assert.NotEmpty(t, k.String(), "kind %d has no name", k)
	}
	assert.Equal(t, "ImageLoad", KindImageLoad.String())
	assert.Equal(t, "Kind(200)", Kind(200).String())
	assert.True(t, KindPoolSnapshot.IsPool())
	assert.False(t, KindStack.IsPool())
}

// Every row's kind is reachable and every kind except KindUnknown has a
// row, so the table and the Kind list cannot drift apart.
func TestTableCoversKinds(t *testing.T) {
	seen := map[Kind]bool{}
	for _, r := range table {
		seen[r.kind] = true
		require.NotEmpty(t, r.versions)
		assert.Equal(t, uint16(0), r.versions[0].min, "%v: versions must start at 0", r.kind)
		for i := 1; i < len(r.versions); i++ {
			assert.Less(t, r.versions[i-1].min, r.versions[i].min)
		}
	}
	for k := KindUnknown + 1; k < numKinds; k++ {
		assert.True(t, seen[k], "%v has no table row", k)
	}
}
