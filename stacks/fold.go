package stacks

import (
	"cmp"
	"math"
	"slices"
	"strings"
)

// Resolver gives the frames of a stack reference and the process its user
// frames belong to. A Joiner is a Resolver once finished.
type Resolver interface {
	Resolve(ref Ref) []uint64
	Process(ref Ref) uint32
}

// Value is what a stack accounts for: a number of events (allocations)
// and their bytes.
type Value struct {
	Count int64
	Bytes int64
}

// Add adds w to v, stopping at math.MaxInt64 (and math.MinInt64) rather
// than wrapping: a damaged trace can claim sizes near 2^63, and a total
// that wrapped negative would turn a flame graph inside out (and is a
// value pprof rejects).
func (v *Value) Add(w Value) {
	v.Count = addSaturating(v.Count, w.Count)
	v.Bytes = addSaturating(v.Bytes, w.Bytes)
}

func addSaturating(a, b int64) int64 {
	s := a + b
	switch {
	case a > 0 && b > 0 && s < 0:
		return math.MaxInt64
	case a < 0 && b < 0 && s >= 0:
		return math.MinInt64
	}
	return s
}

// Counts adds up values by stack reference, the first step of folding:
// a million allocations on one stack become one entry. The zero value is
// ready to use.
type Counts struct {
	index map[Ref]int
	refs  []Ref
	vals  []Value
}

// Add adds count events of bytes bytes to ref.
func (c *Counts) Add(ref Ref, count, bytes int64) {
	i, ok := c.index[ref]
	if !ok {
		if c.index == nil {
			c.index = make(map[Ref]int)
		}
		i = len(c.refs)
		c.index[ref] = i
		c.refs = append(c.refs, ref)
		c.vals = append(c.vals, Value{})
	}
	c.vals[i].Add(Value{count, bytes})
}

// Len returns the number of distinct references added.
func (c *Counts) Len() int { return len(c.refs) }

// Get returns the value added to ref.
func (c *Counts) Get(ref Ref) Value {
	if i, ok := c.index[ref]; ok {
		return c.vals[i]
	}
	return Value{}
}

// Sample is one distinct stack and what it accounts for: the JSON form of
// `poolprof stacks` ({"frames": [...], "count": N, "bytes": N}). Frames
// are innermost first; an empty list is an event without a stack.
type Sample struct {
	Frames []string `json:"frames"`
	Count  int64    `json:"count"`
	Bytes  int64    `json:"bytes"`
}

// Samples names the stacks of every reference with n and merges those
// whose names are equal (the same stack seen through different references
// or processes). They come sorted by bytes, then count, descending, then
// by frames.
func (c *Counts) Samples(r Resolver, n Namer) []Sample {
	var out []Sample
	at := make(map[string]int)
	var key strings.Builder
	var buf []byte
	in, _ := n.(InlineNamer)
	for i, ref := range c.refs {
		frames, pid := r.Resolve(ref), r.Process(ref)
		names := make([]string, 0, len(frames))
		key.Reset()
		add := func(b []byte) {
			names = append(names, string(b))
			key.Write(b)
			key.WriteByte(0)
		}
		for _, addr := range frames {
			if in != nil {
				for k := range in.Inlined(addr, pid) {
					buf = in.AppendInlined(buf[:0], addr, pid, k)
					add(buf)
				}
			}
			buf = n.AppendFrame(buf[:0], addr, pid)
			add(buf)
		}
		v := c.vals[i]
		if j, ok := at[key.String()]; ok {
			out[j].Count = addSaturating(out[j].Count, v.Count)
			out[j].Bytes = addSaturating(out[j].Bytes, v.Bytes)
			continue
		}
		at[key.String()] = len(out)
		out = append(out, Sample{Frames: names, Count: v.Count, Bytes: v.Bytes})
	}
	slices.SortFunc(out, func(a, b Sample) int {
		if c := cmp.Compare(b.Bytes, a.Bytes); c != 0 {
			return c
		}
		if c := cmp.Compare(b.Count, a.Count); c != 0 {
			return c
		}
		return slices.Compare(a.Frames, b.Frames)
	})
	return out
}

// Tree folds the stacks of every reference into a tree named by n.
func (c *Counts) Tree(r Resolver, n Namer) *Tree {
	t := NewTree()
	for i, ref := range c.refs {
		t.AddStack(n, r.Resolve(ref), r.Process(ref), c.vals[i].Count, c.vals[i].Bytes)
	}
	return t
}

// Tree folds stacks into a call tree whose root stands for all of them
// and whose children are outermost callers: a path from the root down is
// a stack read from its outermost frame to its innermost. Frames are
// merged by name.
type Tree struct {
	root Node
	buf  []byte
}

// Node is a frame in a Tree.
type Node struct {
	Name string // "" for the root
	// Value is inclusive: all stacks through this frame. Self is the
	// part whose innermost frame this is; at the root, the events without
	// a stack.
	Value Value
	Self  Value

	kids   map[string]*Node
	list   []*Node
	sorted bool
}

// NewTree returns an empty tree.
func NewTree() *Tree { return &Tree{} }

// Root returns the root, whose Value is the total of all stacks.
func (t *Tree) Root() *Node { return &t.root }

// Add folds a stack of names, innermost first, accounting count events of
// bytes bytes to it. An empty stack adds to the root's Self.
func (t *Tree) Add(frames []string, count, bytes int64) {
	v := Value{count, bytes}
	n := &t.root
	n.Value.Add(v)
	for i := len(frames) - 1; i >= 0; i-- {
		n = n.child(frames[i], nil)
		n.Value.Add(v)
	}
	n.Self.Add(v)
}

// AddStack folds a stack of addresses, innermost first, naming its frames
// with namer in process pid; an [InlineNamer] adds a frame for each
// inlined function. Frames already in the tree cost no allocation.
func (t *Tree) AddStack(namer Namer, frames []uint64, pid uint32, count, bytes int64) {
	v := Value{count, bytes}
	in, _ := namer.(InlineNamer)
	n := &t.root
	n.Value.Add(v)
	for i := len(frames) - 1; i >= 0; i-- {
		t.buf = namer.AppendFrame(t.buf[:0], frames[i], pid)
		n = n.child("", t.buf)
		n.Value.Add(v)
		if in == nil {
			continue
		}
		for k := in.Inlined(frames[i], pid) - 1; k >= 0; k-- {
			t.buf = in.AppendInlined(t.buf[:0], frames[i], pid, k)
			n = n.child("", t.buf)
			n.Value.Add(v)
		}
	}
	n.Self.Add(v)
}

// child returns the child named name (or b, when name is ""), adding it.
func (n *Node) child(name string, b []byte) *Node {
	if name == "" {
		if c, ok := n.kids[string(b)]; ok {
			return c
		}
		name = string(b)
	} else if c, ok := n.kids[name]; ok {
		return c
	}
	if n.kids == nil {
		n.kids = make(map[string]*Node)
	}
	c := &Node{Name: name}
	n.kids[name] = c
	n.list = append(n.list, c)
	n.sorted = false
	return c
}

// Children returns the callees of n sorted by name. The slice belongs to
// the node.
func (n *Node) Children() []*Node {
	if !n.sorted {
		slices.SortFunc(n.list, func(a, b *Node) int { return strings.Compare(a.Name, b.Name) })
		n.sorted = true
	}
	return n.list
}
