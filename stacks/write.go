package stacks

import (
	"bufio"
	"cmp"
	"encoding/json"
	"io"
	"slices"
	"strconv"
)

// Measure chooses which number of a Value an output shows or sorts by.
type Measure uint8

const (
	// ByBytes is the default: for a leak the memory a stack holds
	// matters more than how many allocations hold it, so the width of a
	// frame in a flame graph is its bytes.
	ByBytes Measure = iota
	// ByCount is the number of events (allocations).
	ByCount
)

func (m Measure) of(v Value) int64 {
	if m == ByCount {
		return v.Count
	}
	return v.Bytes
}

// NoStackFrame is the frame name the text outputs give events without a
// stack, which would otherwise have no line of their own.
const NoStackFrame = "[no stack]"

// WriteFolded writes t in the folded format of flamegraph.pl, speedscope
// and inferno: one line per stack, frames from the outermost caller to
// the innermost frame joined by ';', a space and the stack's own value
// (bytes or count as m says; see ByBytes). Stacks whose value is 0 are left
// out; events without a stack are the line "[no stack] N". Lines come
// in depth-first order with callers sorted by name. A ';' in a frame name
// becomes ':' and line breaks become spaces, as the format has no
// escapes.
func WriteFolded(w io.Writer, t *Tree, m Measure) error {
	bw := bufio.NewWriter(w)
	var path []byte
	var walk func(n *Node)
	walk = func(n *Node) {
		mark := len(path)
		if n != &t.root {
			if mark > 0 {
				path = append(path, ';')
			}
			path = appendFoldedName(path, n.Name)
		}
		if v := m.of(n.Self); v != 0 {
			if n == &t.root {
				bw.WriteString(NoStackFrame)
			} else {
				bw.Write(path)
			}
			bw.WriteByte(' ')
			bw.Write(strconv.AppendInt(nil, v, 10))
			bw.WriteByte('\n')
		}
		for _, c := range n.Children() {
			walk(c)
		}
		path = path[:mark]
	}
	walk(&t.root)
	return bw.Flush()
}

func appendFoldedName(dst []byte, name string) []byte {
	for i := 0; i < len(name); i++ {
		switch c := name[i]; c {
		case ';':
			dst = append(dst, ':')
		case '\n', '\r':
			dst = append(dst, ' ')
		default:
			dst = append(dst, c)
		}
	}
	return dst
}

// WriteTree writes t as an indented text tree, callers first: a header
// line, then one line per node with its inclusive bytes and count, then
// the frame indented two spaces per level below the root ("all").
// Siblings are sorted by m, largest first, then by name; events without
// a stack come last, as "[no stack]".
//
//	  bytes      count  stack
//	3328000       2000  all
//	3328000       2000    ntkrnlmp.exe+0x1000
func WriteTree(w io.Writer, t *Tree, m Measure) error {
	bw := bufio.NewWriter(w)
	var line []byte
	row := func(v Value, depth int, name string) {
		line = line[:0]
		line = appendPadded(line, v.Bytes, 12)
		line = append(line, ' ')
		line = appendPadded(line, v.Count, 10)
		line = append(line, "  "...)
		for range depth {
			line = append(line, "  "...)
		}
		line = append(line, name...)
		line = append(line, '\n')
		bw.Write(line)
	}
	bw.WriteString("       bytes      count  stack\n")
	var walk func(n *Node, depth int)
	walk = func(n *Node, depth int) {
		kids := slices.Clone(n.Children())
		slices.SortStableFunc(kids, func(a, b *Node) int { return cmp.Compare(m.of(b.Value), m.of(a.Value)) })
		for _, c := range kids {
			row(c.Value, depth+1, c.Name)
			walk(c, depth+1)
		}
		if n == &t.root && n.Self != (Value{}) {
			row(n.Self, depth+1, NoStackFrame)
		}
	}
	row(t.root.Value, 0, "all")
	walk(&t.root, 0)
	return bw.Flush()
}

func appendPadded(dst []byte, v int64, width int) []byte {
	var b [24]byte
	s := strconv.AppendInt(b[:0], v, 10)
	for i := len(s); i < width; i++ {
		dst = append(dst, ' ')
	}
	return append(dst, s...)
}

// WriteJSON writes samples as the JSON list of `poolprof stacks --format
// json`: [{"frames": [...], "count": N, "bytes": N}, ...], frames
// innermost first, one sample per line. A sample without frames is
// written with "frames": [].
func WriteJSON(w io.Writer, samples []Sample) error {
	bw := bufio.NewWriter(w)
	bw.WriteString("[")
	for i, s := range samples {
		if s.Frames == nil {
			s.Frames = []string{}
		}
		b, err := json.Marshal(s)
		if err != nil {
			return err
		}
		if i > 0 {
			bw.WriteString(",")
		}
		bw.WriteString("\n")
		bw.Write(b)
	}
	if len(samples) > 0 {
		bw.WriteString("\n")
	}
	bw.WriteString("]\n")
	return bw.Flush()
}
