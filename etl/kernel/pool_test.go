package kernel

import (
	"fmt"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/poolprof/poolprof/etl"
)

// No public trace holds pool events, so these payloads are built from the
// ETW_POOL_EVENT layout (docs/etl-format.md §4.1) for every opcode, both
// pointer sizes and both kernel header kinds, with and without the
// trailing SessionId.
func TestPoolEventAllOpcodes(t *testing.T) {
	const (
		tagToke  = 0x656b6f54 // "Toke"
		typeBits = 0x10000021 // PagedPoolSession + big-pool marker
	)
	for op := uint8(32); op <= 47; op++ {
		for _, p := range []int{4, 8} {
			for _, perfinfo := range []bool{false, true} {
				for _, withSession := range []bool{false, true} {
					name := fmt.Sprintf("op%d/ptr%d/perfinfo=%v/session=%v", op, p, perfinfo, withSession)
					t.Run(name, func(t *testing.T) {
						hk := kind(p, etl.KindSystem64, etl.KindSystem32)
						if perfinfo {
							hk = kind(p, etl.KindPerfInfo64, etl.KindPerfInfo32)
						}
						addr := uint64(0xFFFFA88012345670)
						if p == 4 {
							addr = 0x8A123450
						}
						payload := le(uint32(typeBits), uint32(tagToke), ptr(p, 1664), ptr(p, addr))
						if withSession {
							payload = le(payload, uint32(3))
						}
						ev := event(hk, PoolGUID, op, 2, payload)

						var pe PoolEvent
						require.NoError(t, pe.Decode(ev))
						assert.Equal(t, PoolOp(op), pe.Op)
						assert.Equal(t, PoolType(typeBits), pe.PoolType)
						assert.Equal(t, "Toke", pe.Tag.String())
						assert.Equal(t, uint64(1664), pe.NumberOfBytes)
						assert.Equal(t, addr, pe.Entry)
						assert.Equal(t, withSession, pe.HasSessionID)
						if withSession {
							assert.Equal(t, uint32(3), pe.SessionID)
						} else {
							assert.Equal(t, uint32(0), pe.SessionID)
						}
						assert.Equal(t, len(payload), pe.Used)

						// Every prefix shorter than the base struct is an error
						// naming the field that did not fit.
						for n := 0; n < 8+2*p; n++ {
							ev.Payload = payload[:n]
							err := pe.Decode(ev)
							var de *DecodeError
							require.ErrorAs(t, err, &de, "length %d", n)
							assert.ErrorIs(t, err, ErrShort)
							assert.Equal(t, n, de.PayloadLen)
							assert.Greater(t, de.Need, n)
							assert.NotEmpty(t, de.Field)
						}
						// Between the base struct and 8+2P+4 there is no SessionId.
						ev.Payload = le(payload[:8+2*p], uint8(1), uint8(2), uint8(3))
						require.NoError(t, pe.Decode(ev))
						assert.False(t, pe.HasSessionID)
						assert.Equal(t, 8+2*p, pe.Used)
					})
				}
			}
		}
	}
}

func TestPoolEventFieldOffsets(t *testing.T) {
	// 64-bit: PoolType 0, Tag 4, NumberOfBytes 8, Entry 16, SessionId 24.
	b64 := hexDump(t, `
01 00 00 00 50 72 6f 63 80 06 00 00 00 00 00 00
10 32 54 76 98 ba dc fe 07 00 00 00`)
	var pe PoolEvent
	require.NoError(t, pe.Decode(event(etl.KindSystem64, PoolGUID, 33, 2, b64)))
	assert.Equal(t, PagedPool, pe.PoolType)
	assert.Equal(t, "Proc", pe.Tag.String(), "bytes 50 72 6f 63 read as the text")
	assert.Equal(t, Tag(0x636F7250), pe.Tag)
	assert.Equal(t, uint64(0x680), pe.NumberOfBytes)
	assert.Equal(t, uint64(0xFEDCBA9876543210), pe.Entry)
	assert.Equal(t, uint32(7), pe.SessionID)
	assert.True(t, pe.Op.IsAlloc() && pe.Op.IsSession())

	// 32-bit: PoolType 0, Tag 4, NumberOfBytes 8, Entry 12, SessionId 16.
	b32 := hexDump(t, `00 02 00 00 4c 65 61 31 40 00 00 00 00 10 20 83 05 00 00 00`)
	require.NoError(t, pe.Decode(event(etl.KindPerfInfo32, PoolGUID, 34, 2, b32)))
	assert.Equal(t, NonPagedPoolNx, pe.PoolType)
	assert.Equal(t, "Lea1", pe.Tag.String())
	assert.Equal(t, uint64(0x40), pe.NumberOfBytes)
	assert.Equal(t, uint64(0x83201000), pe.Entry)
	assert.Equal(t, uint32(5), pe.SessionID)
	assert.True(t, pe.Op.IsFree())
}

func TestPoolOp(t *testing.T) {
	type class struct{ alloc, free, page, snap, start, session, big bool }
	want := map[PoolOp]class{
		32: {alloc: true},
		33: {alloc: true, session: true},
		34: {free: true},
		35: {free: true, session: true},
		36: {page: true},
		37: {page: true, session: true},
		38: {page: true, big: true},
		39: {page: true, session: true, big: true},
		40: {snap: true, start: true},
		41: {snap: true},
		42: {snap: true, start: true, big: true},
		43: {snap: true, big: true},
		44: {snap: true, start: true, session: true},
		45: {snap: true, session: true},
		46: {snap: true, start: true, session: true, big: true},
		47: {snap: true, session: true, big: true},
	}
	for op := PoolOp(0); op < 255; op++ {
		w, ok := want[op]
		assert.Equal(t, ok, op.Valid(), "%d", op)
		got := class{op.IsAlloc(), op.IsFree(), op.IsPage(), op.IsSnapshot(), op.IsSnapshotStart(), op.IsSession(), op.IsBig()}
		assert.Equal(t, w, got, "%v", op)
		// The table's kinds agree with the opcode classes.
		k := Lookup(event(etl.KindSystem64, PoolGUID, uint8(op), 2, nil))
		switch {
		case w.alloc:
			assert.Equal(t, KindPoolAlloc, k)
		case w.free:
			assert.Equal(t, KindPoolFree, k)
		case w.page:
			assert.Equal(t, KindPoolPage, k)
		case w.snap:
			assert.Equal(t, KindPoolSnapshot, k)
		default:
			assert.Equal(t, KindUnknown, k, "%d", op)
		}
	}
	assert.Equal(t, "PoolAllocSession", PoolAllocSession.String())
	assert.Equal(t, "SessionBigPoolSnapDCEnd", SessionBigPoolSnapDCEnd.String())
	assert.Equal(t, "PoolOp(48)", PoolOp(48).String())
}

func TestTag(t *testing.T) {
	for _, tc := range []struct {
		tag       Tag
		text      string
		protected bool
	}{
		{0x656b6f54, "Toke", false},
		{0x656b6f54 | ProtectedPool, "Toke", true},
		{0x20206553, "Se  ", false}, // trailing spaces kept
		{0x3161654c, "Lea1", false}, // "dc" of tag Lea1 shows 0x3161654c
		{0x00414243, `CBA\x00`, false},
		{0x7f5c0a41, `A\x0a\\\x7f`, false},
		{0xff202020 &^ ProtectedPool, `   \x7f`, false},
		{0xff202020, `   \x7f`, true}, // 0xff: protected bit + 0x7f
		{0xC3A92020, `  \xa9C`, true},
	} {
		t.Run(tc.text, func(t *testing.T) {
			assert.Equal(t, tc.text, tc.tag.String())
			assert.Equal(t, tc.protected, tc.tag.Protected())
			assert.Equal(t, tc.text, string(tc.tag.Append(nil)))
			back, err := ParseTag(tc.text)
			require.NoError(t, err)
			assert.Equal(t, tc.tag.Unprotected(), back, "ParseTag reads String back")
		})
	}
	assert.Equal(t, [4]byte{'T', 'o', 'k', 'e'}, (Tag(0x656b6f54) | ProtectedPool).Bytes())
	// "Tok" used to be rejected here (a tag was exactly four characters).
	// ParseTag is now the one parser for package pool too, whose test
	// asserts that short tags are padded with spaces as drivers pad them
	// ("Se" is "Se  "); where the two disagreed, pool's expectation won.
	for text, want := range map[string]Tag{
		"Tok":        0x206b6f54,
		"Se":         0x20206553,
		"A":          0x20202041,
		`\x00`:       0x20202000,
		`\*\?x`:      0x20783f2a, // pattern escapes read as the plain characters
		`\*\?\\\x7F`: 0x7f5c3f2a,
		"?*?*":       0x2a3f2a3f, // unescaped they are plain characters too
	} {
		got, err := ParseTag(text)
		require.NoError(t, err, "%q", text)
		assert.Equal(t, want, got, "%q", text)
	}
	for _, bad := range []string{"", "Token", `\x4`, `\q123`, `\q`, `ab\`, `abc\`, `abc\xff`, `abc\xC1`, `Tok\x80`} {
		_, err := ParseTag(bad)
		assert.Error(t, err, "%q", bad)
	}
}

func TestUnescapeTagChar(t *testing.T) {
	for _, tc := range []struct {
		s     string
		c     byte
		width int
		ok    bool
	}{
		{"Toke", 'T', 1, true},
		{" ", ' ', 1, true},
		{`\\x`, '\\', 2, true},
		{`\*`, '*', 2, true},
		{`\?`, '?', 2, true},
		{`\x4fk`, 'O', 4, true},
		{`\xA0`, 0xA0, 4, true},
		{"*", '*', 1, true}, // a star is only special to patterns
		{"", 0, 0, false},
		{`\`, 0, 0, false},
		{`\x4`, 0, 0, false},
		{`\xg0`, 0, 0, false},
		{`\q`, 0, 0, false},
	} {
		c, w, ok := UnescapeTagChar(tc.s)
		assert.Equal(t, tc.ok, ok, "%q", tc.s)
		assert.Equal(t, tc.c, c, "%q", tc.s)
		assert.Equal(t, tc.width, w, "%q", tc.s)
	}
}

func TestPoolType(t *testing.T) {
	for _, tc := range []struct {
		t                       PoolType
		name                    string
		paged, session, nx, big bool
	}{
		{0, "NonPagedPool", false, false, false, false},
		{1, "PagedPool", true, false, false, false},
		{2, "NonPagedPoolMustSucceed", false, false, false, false},
		{4, "NonPagedPoolCacheAligned", false, false, false, false},
		{5, "PagedPoolCacheAligned", true, false, false, false},
		{32, "NonPagedPoolSession", false, true, false, false},
		{33, "PagedPoolSession", true, true, false, false},
		{37, "PagedPoolCacheAlignedSession", true, true, false, false},
		{0x200, "NonPagedPoolNx", false, false, true, false},
		{0x204, "NonPagedPoolNxCacheAligned", false, false, true, false},
		{0x220, "NonPagedPoolSessionNx", false, true, true, false},
		{0x10000001, "PagedPool|Big", true, false, false, true},
		{0x10000200, "NonPagedPoolNx|Big", false, false, true, true},
		{0x11, "PagedPool|RaiseIfAllocationFailure", true, false, false, false},
		{0x8 | 0x200, "NonPagedPoolNx|QuotaFailInsteadOfRaise", false, false, true, false},
		{0x40, "PoolType(0x40)", false, false, false, false},
		{0x201, "PoolType(0x201)", false, false, true, false}, // NX wins: nonpaged
		{0x211, "PoolType(0x211)", false, false, true, false},
		{0x10000021, "PagedPoolSession|Big", true, true, false, true},
		{0x9, "PagedPool|QuotaFailInsteadOfRaise", true, false, false, false},
		{0x8, "NonPagedPool|QuotaFailInsteadOfRaise", false, false, false, false},
		{0x101, "PagedPool|ColdAllocation", true, false, false, false},
		// Tracer bits beside the big-pool marker are printed, not dropped.
		{0x30000001, "PagedPool|Big|0x20000000", true, false, false, true},
		{0x20000200, "NonPagedPoolNx|0x20000000", false, false, true, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			assert.Equal(t, tc.name, tc.t.String())
			assert.Equal(t, tc.paged, tc.t.Paged(), "paged")
			assert.Equal(t, tc.session, tc.t.Session(), "session")
			assert.Equal(t, tc.nx, tc.t.NX(), "nx")
			assert.Equal(t, tc.big, tc.t.Big(), "big")
		})
	}
	assert.Equal(t, PagedPool, PoolType(0x10000001).Base())
	assert.Equal(t, PoolType(0x221), PoolType(0xF0000221).Base(), "the whole top nibble is the tracer's")
}

// FuzzParseTag checks that whatever ParseTag accepts prints as text that
// reads back to the same tag, and that every printed tag reads back.
func FuzzParseTag(f *testing.F) {
	for _, s := range []string{"Toke", "Se", `\x00\\\*?`, `   \x7f`, "Tok\x80"} {
		f.Add(s, uint32(0x656b6f54))
	}
	f.Fuzz(func(t *testing.T, s string, raw uint32) {
		if tag, err := ParseTag(s); err == nil {
			require.False(t, tag.Protected(), "%q", s)
			back, err := ParseTag(tag.String())
			require.NoError(t, err, "%q", s)
			require.Equal(t, tag, back, "%q", s)
		}
		back, err := ParseTag(Tag(raw).String())
		require.NoError(t, err, "%#x", raw)
		require.Equal(t, Tag(raw).Unprotected(), back, "%#x", raw)
	})
}
