package stacks

import (
	"math/rand/v2"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestTableIntern(t *testing.T) {
	tab := NewTable()
	assert.Equal(t, 1, tab.Len())
	assert.Equal(t, ID(0), tab.Intern(nil))
	assert.Nil(t, tab.Frames(0))
	assert.Nil(t, tab.Frames(99))

	a := []uint64{1, 2, 3}
	id := tab.Intern(a)
	assert.Equal(t, ID(1), id)
	a[0] = 7 // the table keeps a copy
	assert.Equal(t, []uint64{1, 2, 3}, tab.Frames(id))
	assert.Equal(t, id, tab.Intern([]uint64{1, 2, 3}))
	assert.Equal(t, ID(2), tab.Intern([]uint64{1, 2}))
	got, ok := tab.Lookup([]uint64{1, 2})
	assert.True(t, ok)
	assert.Equal(t, ID(2), got)
	_, ok = tab.Lookup([]uint64{2, 1})
	assert.False(t, ok)
	assert.Equal(t, 3, tab.Len())
	assert.Equal(t, 5, tab.NumFrames())

	f := tab.Frames(id)
	assert.Equal(t, len(f), cap(f), "appending to a list must copy it")
}

// Many lists, long and short, intern to stable IDs; lookups allocate
// nothing.
func TestTableManyLists(t *testing.T) {
	tab := NewTable()
	r := rand.New(rand.NewPCG(1, 2))
	lists := make([][]uint64, 5000)
	for i := range lists {
		l := make([]uint64, 1+r.IntN(200))
		for k := range l {
			l[k] = 0xfffff80000000000 + uint64(r.IntN(64))
		}
		lists[i] = l
	}
	ids := make([]ID, len(lists))
	for i, l := range lists {
		ids[i] = tab.Intern(l)
	}
	for i, l := range lists {
		require.Equal(t, ids[i], tab.Intern(l))
		require.Equal(t, l, tab.Frames(ids[i]))
	}
	allocs := testing.AllocsPerRun(100, func() {
		tab.Intern(lists[17])
		tab.Frames(ids[17])
	})
	assert.Zero(t, allocs)
}

// u64map agrees with a Go map under random puts and deletes, including
// key 0 and keys that share a slot.
func TestU64Map(t *testing.T) {
	var m u64map
	ref := map[uint64]uint64{}
	r := rand.New(rand.NewPCG(3, 4))
	for i := range 200_000 {
		k := uint64(r.IntN(3000))
		if i%7 == 0 {
			k <<= 40 // keys that differ in high bits only
		}
		switch r.IntN(3) {
		case 0, 1:
			v := uint64(i + 1)
			m.put(k, v)
			ref[k] = v
		case 2:
			m.del(k)
			delete(ref, k)
		}
		if i%1000 == 0 {
			require.Equal(t, len(ref), m.len())
			for k, v := range ref {
				require.Equal(t, v, m.get(k), "key %d", k)
			}
		}
	}
	assert.Zero(t, m.get(123456789))
}
