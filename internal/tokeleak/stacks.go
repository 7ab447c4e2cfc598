package tokeleak

import (
	"encoding/binary"
	"slices"
	"strconv"
)

// Stacks. WPR's Pool usage profile asks for a stack on every pool
// allocation; the kernel logs it right after the event, in one of two
// forms (docs/etl-format.md §4.2):
//
//   - inline: a StackWalk Stack event (hook 0x1820) whose EventTimeStamp
//     and StackThread are those of the pool event, holding the frames;
//   - keyed (Windows 8+ stack caching): a StackKeyKernel reference (0x1825)
//     holding a key whose frames are defined later, by KeyDelete (0x1823)
//     when the cache evicts the entry or KeyRundown (0x1824) when the
//     session ends. A reference binds to the next definition of its key;
//     key values are reused after eviction.
//
// The user-mode part of a stack is logged when the thread returns to user
// mode: a second Stack with user addresses, or a StackKeyUser (0x1826)
// reference, with the same EventTimeStamp but a later record timestamp.
// Kernel and user keys live in separate caches, so one key value can be
// live in both. Here the kernel form is chosen per allocation and the user
// form per thread (see userMode).

// site is a place in the code that allocates (or frees): the kernel call
// chain, innermost first, and the user-mode chain of the thread that
// entered the kernel (nil for kernel threads and DPCs).
type site struct {
	name   string
	kernel []frame
	user   []frame
}

// kernelForm is how the kernel part of an allocation's stack is logged.
type kernelForm uint8

const (
	kernelNone   kernelForm = iota // no stack at all
	kernelInline                   // a Stack event
	kernelKeyed                    // a StackKeyKernel reference
)

// addresses returns the absolute addresses of frames as seen in process pid.
func addresses(frames []frame, pid uint32) ([]uint64, error) {
	out := make([]uint64, len(frames))
	for i, f := range frames {
		if f.mod == "" {
			out[i] = f.rva
			continue
		}
		im, err := imageFor(f.mod, pid)
		if err != nil {
			return nil, err
		}
		out[i] = im.Base + f.rva
	}
	return out, nil
}

// frameNames returns the frames as the analysis prints them without
// symbols: module+0xRVA (lowercase hex, no padding), 0xADDRESS outside
// every module.
func frameNames(frames []frame) []string {
	out := make([]string, len(frames))
	for i, f := range frames {
		if f.mod == "" {
			out[i] = "0x" + strconv.FormatUint(f.rva, 16)
		} else {
			out[i] = f.mod + "+0x" + strconv.FormatUint(f.rva, 16)
		}
	}
	return out
}

// Stack key values. Both caches hand out keyBase + n*keyStep, so the same
// value is live in the kernel and the user cache at once. UndefinedUserKey
// is a user key reference that no definition ever follows.
const (
	keyBase          = 0xffffd98a1c2e0000
	keyStep          = 0x70
	UndefinedUserKey = 0xffffd98a1c2fff08
)

// keyCache is one stack cache (kernel or user) as the generator plays it.
type keyCache struct {
	n       uint64 // key values handed out so far
	byShape map[string]*keyEntry
	freed   []freedKey
	defined map[uint64]int // definitions logged per key value
}

type keyEntry struct {
	key     uint64
	frames  []uint64
	lastRef int64 // latest record tick of a reference to this entry
}

// freedKey is a key value whose entry was evicted: it may be handed out
// again after tick after, to any stack but the evicted one.
type freedKey struct {
	key    uint64
	after  int64
	notFor string
}

func newKeyCache() *keyCache {
	return &keyCache{byShape: map[string]*keyEntry{}, defined: map[uint64]int{}}
}

func shapeOf(frames []uint64) string {
	b := make([]byte, 0, 8*len(frames))
	for _, a := range frames {
		b = binary.LittleEndian.AppendUint64(b, a)
	}
	return string(b)
}

// ref returns the key of frames at tick now for a reference logged at
// recTick, creating the cache entry if needed.
func (c *keyCache) ref(frames []uint64, now, recTick int64) uint64 {
	s := shapeOf(frames)
	e := c.byShape[s]
	if e == nil {
		e = &keyEntry{key: c.take(s, now), frames: frames}
		c.byShape[s] = e
	}
	e.lastRef = max(e.lastRef, recTick)
	return e.key
}

func (c *keyCache) take(shape string, now int64) uint64 {
	for i, f := range c.freed {
		if f.after < now && f.notFor != shape {
			c.freed = slices.Delete(c.freed, i, i+1)
			return f.key
		}
	}
	k := keyBase + c.n*keyStep
	c.n++
	return k
}

// evict removes the entry of frames, if any, at tick now. It returns the
// entry and the tick its KeyDelete must carry: after every reference
// already logged, so that all of them bind to it.
func (c *keyCache) evict(frames []uint64, now int64) (*keyEntry, int64, bool) {
	s := shapeOf(frames)
	e := c.byShape[s]
	if e == nil {
		return nil, 0, false
	}
	delete(c.byShape, s)
	tick := max(now, e.lastRef+1)
	c.freed = append(c.freed, freedKey{key: e.key, after: tick, notFor: s})
	c.defined[e.key]++
	return e, tick, true
}

// rundown returns the live entries by key value, as KeyRundown logs them
// at the end of the session, and counts their definitions.
func (c *keyCache) rundown() []*keyEntry {
	var es []*keyEntry
	for _, e := range c.byShape {
		es = append(es, e)
		c.defined[e.key]++
	}
	slices.SortFunc(es, func(a, b *keyEntry) int {
		switch {
		case a.key < b.key:
			return -1
		case a.key > b.key:
			return 1
		}
		return 0
	})
	return es
}

// stackPayload encodes a Stack event (opcode 32, 64-bit).
func stackPayload(eventTS int64, pid, tid uint32, frames []uint64) []byte {
	var e enc
	e.u64(uint64(eventTS))
	e.u32(pid)
	e.u32(tid)
	for _, a := range frames {
		e.u64(a)
	}
	return e
}

// keyRefPayload encodes a StackKeyKernel or StackKeyUser event (opcodes
// 37/38, 64-bit).
func keyRefPayload(eventTS int64, pid, tid uint32, key uint64) []byte {
	var e enc
	e.u64(uint64(eventTS))
	e.u32(pid)
	e.u32(tid)
	e.u64(key)
	return e
}

// keyDefPayload encodes a KeyDelete or KeyRundown event (opcodes 35/36,
// 64-bit).
func keyDefPayload(key uint64, frames []uint64) []byte {
	var e enc
	e.u64(key)
	for _, a := range frames {
		e.u64(a)
	}
	return e
}
