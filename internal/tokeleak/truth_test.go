package tokeleak_test

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/poolprof/poolprof/internal/tokeleak"
)

func TestTruthIdentities(t *testing.T) {
	for name, o := range recipes {
		t.Run(name, func(t *testing.T) {
			_, tr := build(t, o)
			var sum tokeleak.Row
			for _, r := range tr.Rows {
				assert.Equal(t, r.Allocs, r.AIFOCount+r.AIFICount+r.LostFrees, "%q paged=%v", r.Tag, r.Paged)
				assert.Equal(t, r.Frees, r.AIFICount+r.AOFICount, "%q paged=%v", r.Tag, r.Paged)
				assert.Equal(t, tokeleak.TagString(r.TagValue), r.Tag)
				assert.Zero(t, r.TagValue&tokeleak.ProtectedTag)
				sum.Allocs += r.Allocs
				sum.Frees += r.Frees
				sum.AIFOCount += r.AIFOCount
				sum.AIFOBytes += r.AIFOBytes
				sum.AIFICount += r.AIFICount
				sum.AIFIBytes += r.AIFIBytes
				sum.AOFICount += r.AOFICount
				sum.LostFrees += r.LostFrees
			}
			assert.Equal(t, sum, tr.Totals)
			assert.EqualValues(t, len(tr.Allocations), tr.Totals.Allocs)
			assert.EqualValues(t, len(tr.Frees), tr.Totals.Frees)
			assert.EqualValues(t, tr.LostFrees, tr.Totals.LostFrees)

			// Rows agree with the allocations and frees they sum.
			for _, life := range []tokeleak.Lifetime{tokeleak.AIFO, tokeleak.AIFI, tokeleak.LostFree} {
				for _, r := range tr.Rows {
					n, bytes := 0, uint64(0)
					for _, a := range tr.Allocations {
						if a.Lifetime == life && a.Tag&^tokeleak.ProtectedTag == r.TagValue && paged(a.PoolType) == r.Paged {
							n++
							bytes += a.Size
						}
					}
					switch life {
					case tokeleak.AIFO:
						assert.EqualValues(t, r.AIFOCount, n)
						assert.Equal(t, r.AIFOBytes, bytes)
					case tokeleak.AIFI:
						assert.EqualValues(t, r.AIFICount, n)
						assert.Equal(t, r.AIFIBytes, bytes)
					case tokeleak.LostFree:
						assert.EqualValues(t, r.LostFrees, n)
					}
				}
			}
			aofi := 0
			for _, f := range tr.Frees {
				if f.AOFI {
					aofi++
				}
			}
			assert.EqualValues(t, tr.Totals.AOFICount, aofi)

			// Event counts agree with the plan and the stack counts.
			h, sc := tr.Events.Hooks, tr.StackCounts
			sessionAllocs, sessionFrees := 0, 0
			for _, a := range tr.Allocations {
				if a.Session {
					sessionAllocs++
				}
			}
			for _, f := range tr.Frees {
				if f.Session {
					sessionFrees++
				}
			}
			assert.Equal(t, tr.Sessions.Allocs, sessionAllocs)
			assert.Equal(t, tr.Sessions.Frees, sessionFrees)
			assert.Equal(t, len(tr.Allocations)-sessionAllocs, h[tokeleak.HookPoolAlloc])
			assert.Equal(t, sessionAllocs, h[tokeleak.HookPoolAllocSess])
			assert.Equal(t, len(tr.Frees)-sessionFrees, h[tokeleak.HookPoolFree])
			assert.Equal(t, sessionFrees, h[tokeleak.HookPoolFreeSess])
			assert.Equal(t, len(tr.Allocations), sc.Inline+sc.Keyed+sc.NoStack)
			assert.Equal(t, sc.Inline+sc.UserInline+sc.FreesWithStack, h[tokeleak.HookStack])
			assert.Equal(t, sc.Keyed, h[tokeleak.HookStackKeyKernel])
			assert.Equal(t, sc.UserKeyed+sc.UserUndefined, h[tokeleak.HookStackKeyUser])
			assert.Equal(t, sc.KeyDeletes, h[tokeleak.HookKeyDelete])
			assert.Equal(t, sc.KeyRundowns, h[tokeleak.HookKeyRundown])
			assert.Equal(t, sc.KernelKeys+sc.UserKeys+sc.ReusedKeys, sc.KeyDeletes+sc.KeyRundowns,
				"each value defined once, reused ones twice")
			assert.Equal(t, len(tokeleak.Processes), h[tokeleak.HookProcessDCStart])
			assert.Equal(t, len(tokeleak.Threads), h[tokeleak.HookThreadDCStart])
			assert.Equal(t, len(tokeleak.Images()), h[tokeleak.HookImageDCStart]+h[tokeleak.HookImageLoad])
			assert.Equal(t, 1, h[tokeleak.HookImageLoad])
			assert.Equal(t, 1, h[tokeleak.HookHeader])
			assert.Equal(t, 1, h[tokeleak.HookExtension])
			total := 0
			for _, n := range h {
				total += n
			}
			for _, n := range tr.Events.ImageID {
				total += n
			}
			assert.Equal(t, tr.Events.Total, total)
			withID, withPDB := 0, 0
			for _, im := range tr.Images {
				if im.OriginalName != "" {
					withID++
				}
				if im.PDB != "" {
					withPDB++
				}
			}
			assert.Equal(t, withID, tr.Events.ImageID[tokeleak.OpImageID])
			assert.Equal(t, withPDB, tr.Events.ImageID[tokeleak.OpDbgIDRSDS])

			// Stacks fold every AIFO allocation.
			var count, bytes uint64
			for _, s := range tr.Stacks("", tokeleak.AIFO) {
				count += s.Count
				bytes += s.Bytes
			}
			assert.Equal(t, tr.Totals.AIFOCount, count)
			assert.Equal(t, tr.Totals.AIFOBytes, bytes)
		})
	}
}

func paged(t uint32) bool {
	b := t &^ 0xF0000000
	return b&1 != 0 && b&tokeleak.PoolNX == 0
}

// What the file covers, beyond the story.
func TestTruthCoversTheEdgeCases(t *testing.T) {
	for name, o := range recipes {
		t.Run(name, func(t *testing.T) {
			_, tr := build(t, o)
			sc := tr.StackCounts
			assert.Positive(t, sc.Inline)
			assert.Positive(t, sc.Keyed)
			assert.GreaterOrEqual(t, sc.NoStack, tokeleak.EdgeNoStack)
			assert.Positive(t, sc.UserInline)
			assert.Positive(t, sc.UserKeyed)
			assert.Positive(t, sc.UserUndefined)
			assert.Positive(t, sc.UserNever)
			assert.Positive(t, sc.FreesWithStack)
			assert.Equal(t, 3, sc.KeyDeletes)
			assert.Equal(t, 3, sc.ReusedKeys)
			assert.Positive(t, sc.SharedKeys)
			assert.Equal(t, 2, tr.LostFrees)
			assert.Positive(t, tr.CrossCPU)
			assert.Positive(t, tr.AddressReuses)
			assert.Positive(t, tr.Sessions.SharedAddrs)
			assert.Less(t, tr.Sessions.SharedAddrs, tr.Sessions.Keys)

			// Lost frees: one on Irp, one on Mdl (the older allocation's
			// row, although an Irp took the address).
			assert.EqualValues(t, 1, tr.Row("Irp ", false).LostFrees)
			assert.EqualValues(t, 1, tr.Row("Mdl ", false).LostFrees)

			// Every pool, protected tags, big allocations with and without
			// the marker, a tag that needs escaping.
			types := map[uint32]bool{}
			protected, bigMarked, bigUnmarked := 0, 0, 0
			for _, a := range tr.Allocations {
				types[a.PoolType&^tokeleak.BigPoolMarker] = true
				if a.Tag&tokeleak.ProtectedTag != 0 {
					protected++
				}
				if a.Size > 4096 {
					if a.PoolType&tokeleak.BigPoolMarker != 0 {
						bigMarked++
					} else {
						bigUnmarked++
					}
				}
			}
			for _, pt := range []uint32{tokeleak.PoolNonPaged, tokeleak.PoolPaged, tokeleak.PoolNX, tokeleak.PoolSessionPaged} {
				assert.True(t, types[pt], "pool type %d", pt)
			}
			assert.Positive(t, protected)
			assert.Positive(t, bigMarked)
			assert.Positive(t, bigUnmarked)
			assert.NotNil(t, tr.Row(`USB\x01`, false))
			assert.NotNil(t, tr.Row("Se  ", true))

			// A stack with frames outside every module.
			lea := tr.Stacks("Lea1", tokeleak.AIFO)
			require.Len(t, lea, 1)
			assert.Contains(t, lea[0].Frames, "0xfffff8041c3b2a10")
		})
	}
}
