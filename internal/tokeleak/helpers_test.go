package tokeleak_test

import (
	"bytes"
	"encoding/binary"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/poolprof/poolprof/etl"
	"github.com/poolprof/poolprof/internal/tokeleak"
)

const committedPath = "../../testdata/example/tokeleak.etl"

// small is a quick recipe for tests that need a different trace.
var small = tokeleak.Options{Leaked: 300, Background: 400, Duration: time.Minute, Seed: 7}

type built struct {
	data  []byte
	truth *tokeleak.Truth
	err   error
}

var (
	cacheMu sync.Mutex
	cache   = map[tokeleak.Options]*built{}
)

// build returns Build's output for o, built once per test binary.
func build(t *testing.T, o tokeleak.Options) ([]byte, *tokeleak.Truth) {
	t.Helper()
	cacheMu.Lock()
	defer cacheMu.Unlock()
	b := cache[o]
	if b == nil {
		var buf bytes.Buffer
		tr, err := tokeleak.Build(&buf, o)
		b = &built{buf.Bytes(), tr, err}
		cache[o] = b
	}
	require.NoError(t, b.err)
	return b.data, b.truth
}

func open(t *testing.T, data []byte) *etl.File {
	t.Helper()
	f, err := etl.NewFile(bytes.NewReader(data), int64(len(data)))
	require.NoError(t, err)
	return f
}

// readAll returns clones of every event of f in time order, checking that
// the reader found nothing wrong.
func readAll(t *testing.T, f *etl.File) []*etl.Event {
	t.Helper()
	r := f.NewReader(etl.OrderTime)
	var evs []*etl.Event
	for ev, err := range r.All() {
		require.NoError(t, err)
		evs = append(evs, ev.Clone())
	}
	require.Empty(t, r.Problems())
	st := r.Stats()
	require.Zero(t, st.DamagedBuffers)
	require.Zero(t, st.BadRecords)
	require.Zero(t, st.Unknown)
	require.Zero(t, st.OutOfOrder)
	return evs
}

var le = binary.LittleEndian

func isKernelAddr(a uint64) bool { return a >= 0xFFFF000000000000 }

// moduleMap names addresses as the analysis must, from the truth's module
// map: kernel images for every process, user images for their own.
type moduleMap []tokeleak.Image

func (m moduleMap) name(addr uint64, pid uint32) string {
	for i := range m {
		im := &m[i]
		if (im.Kernel() || im.PID == pid) && im.Contains(addr) {
			return im.Module() + "+0x" + strconv.FormatUint(addr-im.Base, 16)
		}
	}
	return "0x" + strconv.FormatUint(addr, 16)
}

func (m moduleMap) names(frames []uint64, pid uint32) []string {
	out := make([]string, len(frames))
	for i, a := range frames {
		out[i] = m.name(a, pid)
	}
	return out
}

func frames(b []byte) []uint64 {
	out := make([]uint64, len(b)/8)
	for i := range out {
		out[i] = le.Uint64(b[8*i:])
	}
	return out
}
