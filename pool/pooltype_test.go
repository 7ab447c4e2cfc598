package pool_test

import (
	"testing"

	"github.com/poolprof/poolprof/pool"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestPoolTypeClassification(t *testing.T) {
	for _, c := range []struct {
		pt                      pool.PoolType
		paged, session, nx, big bool
		name                    string
	}{
		{0, false, false, false, false, "NonPagedPool"},
		{1, true, false, false, false, "PagedPool"},
		{2, false, false, false, false, "NonPagedPoolMustSucceed"},
		{4, false, false, false, false, "NonPagedPoolCacheAligned"},
		{5, true, false, false, false, "PagedPoolCacheAligned"},
		{32, false, true, false, false, "NonPagedPoolSession"},
		{33, true, true, false, false, "PagedPoolSession"},
		{37, true, true, false, false, "PagedPoolCacheAlignedSession"},
		{0x200, false, false, true, false, "NonPagedPoolNx"},
		{0x204, false, false, true, false, "NonPagedPoolNxCacheAligned"},
		{0x220, false, true, true, false, "NonPagedPoolSessionNx"},
		{0x10000001, true, false, false, true, "PagedPool|Big"},
		{0x10000200, false, false, true, true, "NonPagedPoolNx|Big"},
		{0x10000021, true, true, false, true, "PagedPoolSession|Big"},
		{0x11, true, false, false, false, "PagedPool|RaiseIfAllocationFailure"},
		{0x9, true, false, false, false, "PagedPool|QuotaFailInsteadOfRaise"},
		{0x8, false, false, false, false, "NonPagedPool|QuotaFailInsteadOfRaise"},
		{0x101, true, false, false, false, "PagedPool|ColdAllocation"},
		{0x211, false, false, true, false, "PoolType(0x211)"}, // NX wins over bit 0
		{0x30000001, true, false, false, true, "PagedPool|Big|0x20000000"},
		{0x40, false, false, false, false, "PoolType(0x40)"},
	} {
		assert.Equal(t, c.paged, c.pt.Paged(), "paged %#x", uint32(c.pt))
		assert.Equal(t, c.session, c.pt.Session(), "session %#x", uint32(c.pt))
		assert.Equal(t, c.nx, c.pt.NX(), "nx %#x", uint32(c.pt))
		assert.Equal(t, c.big, c.pt.Big(), "big %#x", uint32(c.pt))
		assert.Equal(t, c.name, c.pt.String(), "%#x", uint32(c.pt))
	}
	assert.Equal(t, pool.PoolType(0x221), pool.PoolType(0x10000221).Base())
	assert.Equal(t, "Paged", pool.PagedString(true))
	assert.Equal(t, "Nonp", pool.PagedString(false))
}

func TestPoolSet(t *testing.T) {
	types := []pool.PoolType{0, 1, 33, 32, 0x200, 0x220, 0x10000001}
	for _, c := range []struct {
		list string
		want []bool // per entry of types
	}{
		{"", []bool{true, true, true, true, true, true, true}},
		{"paged", []bool{false, true, true, false, false, false, true}},
		{"nonpaged", []bool{true, false, false, true, true, true, false}},
		{"session", []bool{false, false, true, true, false, true, false}},
		{"paged,session", []bool{false, false, true, false, false, false, false}},
		{"nonp,session", []bool{false, false, false, true, false, true, false}},
		{"paged,nonpaged", []bool{true, true, true, true, true, true, true}},
	} {
		s, err := pool.ParsePoolSet(c.list)
		require.NoError(t, err, c.list)
		for i, pt := range types {
			assert.Equal(t, c.want[i], s.Match(pt), "%q %s", c.list, pt)
		}
		back, err := pool.ParsePoolSet(s.String())
		require.NoError(t, err)
		assert.Equal(t, s, back)
	}
	_, err := pool.ParsePoolSet("paged,huge")
	assert.Error(t, err)
}

func TestOpcodeOp(t *testing.T) {
	for _, c := range []struct {
		opcode  uint8
		op      pool.Op
		session bool
	}{
		{32, pool.OpAlloc, false}, {33, pool.OpAlloc, true}, {34, pool.OpFree, false}, {35, pool.OpFree, true},
		{36, 0, false}, {39, 0, false},
		{40, pool.OpSnapStart, false}, {41, pool.OpSnapEnd, false}, {42, pool.OpSnapStart, false},
		{43, pool.OpSnapEnd, false}, {44, pool.OpSnapStart, true}, {45, pool.OpSnapEnd, true},
		{46, pool.OpSnapStart, true}, {47, pool.OpSnapEnd, true}, {48, 0, false}, {0, 0, false},
	} {
		op, s := pool.OpcodeOp(c.opcode)
		assert.Equal(t, c.op, op, "opcode %d", c.opcode)
		assert.Equal(t, c.session, s, "opcode %d", c.opcode)
	}
	assert.Equal(t, "Alloc", pool.OpAlloc.String())
	assert.Equal(t, "Op(9)", pool.Op(9).String())
}
