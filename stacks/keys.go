package stacks

// Stack keys (Windows 8 and later, docs/etl-format.md §4.2). With stack
// caching on, the kernel logs a StackKeyKernel (37) or StackKeyUser (38)
// reference instead of the frames, and the frames for a key value later, in
// a KeyDelete (35) when the cache entry is evicted or a KeyRundown (36) when
// the session ends (KeyCreate, 34, is treated the same way should it
// appear). A reference binds to the NEXT definition of its key value in
// stream order: key values are cache-entry addresses and are reused after
// eviction, so a key stands for different stacks over time.
//
// Kernel and user references live in separate tables: the same value can
// be live in both at once. A definition belongs to the kernel table when
// its last (outermost) frame is a kernel address, else to the user table.
// References from EVENT_HEADER extended STACK_KEY items do not say which
// table they belong to; they bind to the next definition in either.
//
// A reference is recorded as a lifetime: one use of a key value, from the
// first reference after a definition (or after the start) to the next
// definition. All references in one lifetime share it, and the definition
// that ends it resolves them all at once. Memory is a few bytes per
// lifetime that was referenced by a held event, plus one map entry per
// lifetime still waiting for its definition (bounded by the stack cache).

// keyTable says which pending table a reference waits in.
type keyTable uint8

const (
	kernelKeys keyTable = iota // StackKeyKernel (37)
	userKeys                   // StackKeyUser (38)
	anyKeys                    // EVENT_HEADER STACK_KEY32/64 items
	numKeyTables
)

// lifetime is one use of a key value.
type lifetime struct {
	frames  ID     // the definition's frames, once defined
	refs    uint32 // references attached to held events
	table   keyTable
	defined bool
}

// keys tracks the pending references of the three tables.
type keys struct {
	live      [numKeyTables]u64map // key value → lifetime index + 1, until defined
	lifetimes []lifetime
}

// ref returns the lifetime a new reference to key in table t joins,
// starting one if the key has no pending reference, and counts the
// reference.
func (k *keys) ref(t keyTable, key uint64) uint32 {
	if v := k.live[t].get(key); v != 0 {
		k.lifetimes[v-1].refs++
		return uint32(v - 1)
	}
	i := uint32(len(k.lifetimes))
	k.lifetimes = append(k.lifetimes, lifetime{refs: 1, table: t})
	k.live[t].put(key, uint64(i)+1)
	return i
}

// addRef counts one more reference to lifetime i (a user part shared by
// several events).
func (k *keys) addRef(i uint32) { k.lifetimes[i].refs++ }

// take removes and returns the lifetime waiting for key in table t.
func (k *keys) take(t keyTable, key uint64) (uint32, bool) {
	v := k.live[t].get(key)
	if v == 0 {
		return 0, false
	}
	k.live[t].del(key)
	return uint32(v - 1), true
}

// define resolves lifetime i to the frames id.
func (k *keys) define(i uint32, id ID) {
	k.lifetimes[i].frames = id
	k.lifetimes[i].defined = true
}

// resolved returns the frames of lifetime i and whether it was defined.
func (k *keys) resolved(i uint32) (ID, bool) {
	lt := &k.lifetimes[i]
	return lt.frames, lt.defined
}

// unresolved counts, per table, the lifetimes never defined and the
// references they hold.
func (k *keys) unresolved() (lifetimes, refs [numKeyTables]int64) {
	for i := range k.lifetimes {
		lt := &k.lifetimes[i]
		if !lt.defined {
			lifetimes[lt.table]++
			refs[lt.table] += int64(lt.refs)
		}
	}
	return lifetimes, refs
}
