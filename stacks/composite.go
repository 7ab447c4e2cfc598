package stacks

// Ref names the stack the Joiner attached to a held event: an interned
// composite of a kernel part and a user part. Each part is nothing, an
// interned frame list, or a reference to a stack key that resolves to the
// frames of the key's next definition. Composites are interned by value,
// so all the events that share a stack share one Ref, and Ref 0 is the
// empty composite: no stack at all.
//
// Two Refs can resolve to the same frames (a key reference and the inline
// frames it stands for, or two uses of a reused key); [Joiner.Stack] gives
// the canonical ID of the resolved stack, equal for equal stacks.
type Ref uint32

// part is one half of a composite: 0 for nothing, an ID (below keyBit) for
// a frame list, or keyBit|i for key lifetime i.
type part uint32

const keyBit part = 1 << 31

// maxIndex bounds the IDs and lifetime indexes a part can hold. Reaching
// it needs 2^31 distinct stacks, tens of gigabytes of frames; a part that
// would overflow is dropped and counted.
const maxIndex = uint64(keyBit) - 1

func (p part) isKey() bool      { return p&keyBit != 0 }
func (p part) lifetime() uint32 { return uint32(p &^ keyBit) }
func (p part) id() ID           { return ID(p) }

// composite is the value a Ref stands for. pid is the process of the user
// part, whose addresses mean something only in that process; it is 0 when
// there is no user part, so kernel stacks are shared by all processes.
type composite struct {
	kernel, user part
	pid          uint32
}

// composites interns composite values.
type composites struct {
	list  []composite
	index map[composite]Ref
	full  []ID // after finish: the resolved stack of each Ref
	// recent is a direct-mapped cache of Refs interned lately, indexed by
	// a hash of their value; an entry is a hint, checked against list.
	recent *[recentSize]Ref
}

func newComposites() composites {
	c := composites{list: []composite{{}}, index: make(map[composite]Ref), recent: new([recentSize]Ref)}
	c.index[composite{}] = 0
	return c
}

func (c *composites) intern(v composite) Ref {
	if v.user == 0 {
		v.pid = 0
	}
	h := (uint64(v.kernel)<<32 | uint64(v.user)) * 0x9e3779b97f4a7c15
	h = (h ^ uint64(v.pid)) * 0xbf58476d1ce4e5b9
	e := &c.recent[h>>(64-recentBits)]
	if r := *e; c.list[r] == v {
		return r
	}
	r, ok := c.index[v]
	if !ok {
		r = Ref(len(c.list))
		c.list = append(c.list, v)
		c.index[v] = r
	}
	*e = r
	return r
}

func (c *composites) get(r Ref) (composite, bool) {
	if int(r) >= len(c.list) {
		return composite{}, false
	}
	return c.list[r], true
}
