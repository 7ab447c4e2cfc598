package symbols

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// synthPublics returns x64-publics with its publics replaced by n
// functions Pub000000... 16 bytes apart from RVA 0x1000, about the
// number of publics in a Windows kernel PDB when n is 100_000 or so.
func synthPublics(t testing.TB, n int) []byte {
	s := fixtureStreams(t, "x64-publics")
	dbi := s[3]
	psiIdx := int(binary.LittleEndian.Uint16(dbi[16:]))
	recIdx := int(binary.LittleEndian.Uint16(dbi[20:]))
	l := dbiLayoutOf(dbi)
	secIdx := int(binary.LittleEndian.Uint16(dbi[l.dbgHeader+2*dbgSectionHdr:]))
	binary.LittleEndian.PutUint32(s[secIdx][8:], uint32(16*n)) // .text VirtualSize
	for i := sectionHeaderSize; i+sectionHeaderSize <= len(s[secIdx]); i += sectionHeaderSize {
		// Move the other sections past the grown .text.
		va := binary.LittleEndian.Uint32(s[secIdx][i+12:])
		binary.LittleEndian.PutUint32(s[secIdx][i+12:], va+uint32(16*n))
	}
	var recs, addrMap []byte
	for i := range n {
		name := fmt.Sprintf("Pub%06d", i)
		size := (pubNameOffset + len(name) + 1 + 3) &^ 3
		rec := make([]byte, size)
		binary.LittleEndian.PutUint16(rec[0:], uint16(size-2))
		binary.LittleEndian.PutUint16(rec[2:], sPub32)
		binary.LittleEndian.PutUint32(rec[4:], pubFlagFunction)
		binary.LittleEndian.PutUint32(rec[8:], uint32(16*i))
		binary.LittleEndian.PutUint16(rec[12:], 1)
		copy(rec[pubNameOffset:], name)
		addrMap = binary.LittleEndian.AppendUint32(addrMap, uint32(len(recs)))
		recs = append(recs, rec...)
	}
	psi := make([]byte, psiHeaderSize)
	binary.LittleEndian.PutUint32(psi[4:], uint32(len(addrMap)))
	s[psiIdx] = append(psi, addrMap...)
	s[recIdx] = recs
	b, _ := testMSF{blockSize: 4096, streams: s}.write(t)
	return b
}

func TestManyPublics(t *testing.T) {
	const n = 20000
	p := openBytes(t, synthPublics(t, n))
	require.Equal(t, n, p.NumPublics())
	for _, i := range []int{0, 1, 4567, n - 1} {
		s, ok := p.Lookup(0x1000 + uint32(16*i) + 5)
		require.True(t, ok)
		assert.Equal(t, fmt.Sprintf("Pub%06d+0x5", i), format(s, ok))
	}
}

func BenchmarkOpenPDB(b *testing.B) {
	for _, name := range fixtureNames {
		data := readFixture(b, name)
		b.Run(name, func(b *testing.B) { benchOpen(b, data) })
	}
	b.Run("synthetic-100k-publics", func(b *testing.B) { benchOpen(b, synthPublics(b, 100_000)) })
}

func benchOpen(b *testing.B, data []byte) {
	b.ReportAllocs()
	b.SetBytes(int64(len(data)))
	r := bytes.NewReader(data)
	for b.Loop() {
		if _, err := OpenPDB(r, int64(len(data))); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkLookup(b *testing.B) {
	bench := func(b *testing.B, p *PDB, lo, hi uint32) {
		rng := rand.New(rand.NewPCG(1, 1))
		rvas := make([]uint32, 4096)
		for i := range rvas {
			rvas[i] = lo + rng.Uint32N(hi-lo)
		}
		b.ReportAllocs()
		var found int
		i := 0
		for b.Loop() {
			if _, ok := p.Lookup(rvas[i&4095]); ok {
				found++
			}
			i++
		}
		if found == 0 {
			b.Fatal("nothing found")
		}
		b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "lookups/s")
	}
	b.Run("x64-full", func(b *testing.B) { bench(b, openFixture(b, "x64-full"), 0x1000, 0x11bb) })
	b.Run("x64-publics", func(b *testing.B) { bench(b, openFixture(b, "x64-publics"), 0x1000, 0x11bb) })
	b.Run("big", func(b *testing.B) { bench(b, openFixture(b, "big"), 0x1000, 0x2000) })
	b.Run("synthetic-100k-publics", func(b *testing.B) {
		bench(b, openBytes(b, synthPublics(b, 100_000)), 0x1000, 0x1000+16*100_000)
	})
}

// BenchmarkLookupInlined looks up every code byte of x64-inline in turn
// (chains of 0, 1 and 2 frames) into a reused buffer: no allocations.
func BenchmarkLookupInlined(b *testing.B) {
	p := openFixture(b, "x64-inline")
	buf := make([]Symbol, 0, 8)
	b.ReportAllocs()
	frames := 0
	i := uint32(0)
	for b.Loop() {
		buf = p.LookupInlined(0x1000+i%0x60, buf[:0])
		frames += len(buf)
		i++
	}
	if frames == 0 {
		b.Fatal("no inline frames")
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "lookups/s")
}
