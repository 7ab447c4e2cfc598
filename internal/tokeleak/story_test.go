package tokeleak_test

import (
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/poolprof/poolprof/internal/tokeleak"
)

func nt(rva uint32) string { return fmt.Sprintf("ntkrnlmp.exe+%#x", rva) }

func mod(m string, rva uint32) string { return fmt.Sprintf("%s+%#x", m, rva) }

// The leak's folded stack, innermost first, as the analysis prints it
// without symbols.
var leakStack = []string{
	nt(tokeleak.ExAllocatePoolWithTagRVA),
	nt(tokeleak.ObCreateObjectRVA),
	nt(tokeleak.SepDuplicateTokenRVA),
	nt(tokeleak.NtDuplicateTokenRVA),
	nt(tokeleak.KiSystemServiceCopyEndRVA),
	nt(tokeleak.ZwDuplicateTokenRVA),
	mod(tokeleak.ModContosec, tokeleak.CsCloneClientTokenRVA),
	mod(tokeleak.ModContosec, tokeleak.CsDispatchDeviceControlRVA),
	nt(tokeleak.IofCallDriverRVA),
	nt(tokeleak.IopSynchronousServiceTailRVA),
	nt(tokeleak.IopXxxControlFileRVA),
	nt(tokeleak.NtDeviceIoControlFileRVA),
	nt(tokeleak.KiSystemServiceCopyEndRVA),
	mod(tokeleak.ModNtdll, tokeleak.NtdllNtDeviceIoControlFileRVA),
	mod(tokeleak.ModKernelBase, tokeleak.DeviceIoControlRVA),
	mod(tokeleak.ModContosecPkg, 0x23a0),
	mod(tokeleak.ModContosecPkg, tokeleak.CsNotifyLogonRVA),
	mod(tokeleak.ModLsasrv, tokeleak.LsapCallNotificationPackagesRVA),
	mod(tokeleak.ModLsasrv, tokeleak.LsapAuApiDispatchLogonUserRVA),
	mod(tokeleak.ModLsasrv, tokeleak.DispatchAPIDirectRVA),
	mod(tokeleak.ModNtdll, tokeleak.TppWorkpExecuteCallbackRVA),
	mod(tokeleak.ModNtdll, tokeleak.TppWorkerThreadRVA),
	mod(tokeleak.ModKernel32, tokeleak.BaseThreadInitThunkRVA),
	mod(tokeleak.ModNtdll, tokeleak.RtlUserThreadStartRVA),
}

func others(bs []tokeleak.TokeBatch) (n int, bytes uint64) {
	for _, b := range bs {
		n += b.Count
		bytes += uint64(b.Count) * b.Size
	}
	return n, bytes
}

// The committed example tells design.md's story: 6,189 outstanding Toke
// allocations, 6,043 of them 1664 bytes, through SepDuplicateToken.
func TestStory(t *testing.T) {
	_, tr := build(t, tokeleak.Committed)
	n, bytes := tr.Count(tokeleak.TokeTag, 0, tokeleak.AIFO)
	assert.Equal(t, 6189, n)
	n1664, _ := tr.Count(tokeleak.TokeTag, tokeleak.TokeSize, tokeleak.AIFO)
	assert.Equal(t, 6043, n1664)

	row := tr.Row(tokeleak.TokeTag, true)
	require.NotNil(t, row)
	assert.Equal(t, tokeleak.Row{Tag: "Toke", TagValue: tokeleak.TagToke, Paged: true,
		Allocs: 6253, Frees: 76, AIFOCount: 6189, AIFOBytes: bytes, AIFICount: 64, AIFIBytes: 40*1248 + 24*512,
		AOFICount: 12}, *row)
	assert.EqualValues(t, 6043*1664+64*1248+42*1424+40*512, bytes)
	assert.Nil(t, tr.Row(tokeleak.TokeTag, false), "no nonpaged Toke")

	// Toke is the biggest row by outstanding bytes, by far.
	for _, r := range tr.Rows {
		if r.Tag != tokeleak.TokeTag {
			assert.Less(t, r.AIFOBytes*10, row.AIFOBytes, r.Tag)
		}
	}

	require.Len(t, tr.TokeAIFO, 3)
	assert.Equal(t, tokeleak.Stack{Frames: leakStack, Count: 6043, Bytes: 6043 * 1664}, tr.TokeAIFO[0])
	for _, s := range tr.TokeAIFO {
		assert.Equal(t, nt(tokeleak.ExAllocatePoolWithTagRVA), s.Frames[0])
		assert.Contains(t, s.Frames, "ntkrnlmp.exe+0x5a2f87", "through NtDuplicateToken")
		assert.True(t, slices.Contains(s.Frames, nt(tokeleak.SepDuplicateTokenRVA)) ||
			slices.Contains(s.Frames, nt(tokeleak.SepDuplicateTokenDynamicRVA)))
	}
	assert.Equal(t, "ntkrnlmp.exe+0x5a3b10", leakStack[2])
}

// The story scales with Options.Leaked; the rest of Toke does not.
func TestStoryFollowsOptions(t *testing.T) {
	o := tokeleak.Options{Leaked: 500, Background: 300, Duration: 2 * time.Minute, Seed: 3}
	_, tr := build(t, o)
	nOut, bOut := others(tokeleak.TokeOutstanding)
	nFreed, bFreed := others(tokeleak.TokeFreed)
	nPre, _ := others(tokeleak.TokePreTrace)

	n1664, b1664 := tr.Count(tokeleak.TokeTag, tokeleak.TokeSize, tokeleak.AIFO)
	assert.Equal(t, 500, n1664)
	row := tr.Row(tokeleak.TokeTag, true)
	require.NotNil(t, row)
	assert.EqualValues(t, 500+nOut, row.AIFOCount)
	assert.Equal(t, b1664+bOut, row.AIFOBytes)
	assert.EqualValues(t, nFreed, row.AIFICount)
	assert.Equal(t, bFreed, row.AIFIBytes)
	assert.EqualValues(t, nPre, row.AOFICount)
	assert.EqualValues(t, 500+nOut+nFreed, row.Allocs)
	assert.Equal(t, tokeleak.Stack{Frames: leakStack, Count: 500, Bytes: 500 * 1664}, tr.TokeAIFO[0])

	// Time stays inside the trace.
	assert.Less(t, tr.End, tr.T0+int64(o.Duration/100))
	assert.Greater(t, tr.Start, tr.T0)
}
