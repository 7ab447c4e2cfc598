package symbols

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestResolverFolder(t *testing.T) {
	full, _ := fixtureRequest(t, "x64-full")
	full.Name = "x64-full.pdb"
	missing := full
	missing.Age++ // same file, other age: a mismatch, never used
	bad := Request{Name: `C:\build\..`, GUID: full.GUID, Age: 1}
	l, _ := newTestLocator(t, fixtureDir, Options{})
	r := NewResolver(l)
	assert.Same(t, l, r.Locator())

	res := r.Load(context.Background(), []Request{full, missing, full, bad})
	require.Len(t, res, 4)
	require.NotNil(t, res[0].PDB, tried(res[0]))
	assert.Equal(t, fixturePath("x64-full"), res[0].Path)
	assert.Same(t, res[0].PDB, res[2].PDB, "one search per image")
	assert.Nil(t, res[1].PDB)
	assert.ErrorIs(t, res[1].Err, ErrNotFound)
	assert.Contains(t, outcomes(res[1]), Mismatch)
	assert.ErrorIs(t, res[3].Err, ErrBadName)

	s, ok := r.Lookup(full, 0x1070)
	require.True(t, ok)
	assert.Equal(t, "SepCopyTokenBody+0x10", s.String())
	_, ok = r.Lookup(missing, 0x1070)
	assert.False(t, ok, "a mismatched PDB is not used")
	assert.Same(t, res[0].PDB, r.PDB(full))
	assert.Equal(t, res[1].Tried, r.Find(context.Background(), missing).Tried, "kept, not searched again")
	assert.Len(t, r.Results(), 3)

	allocs := testing.AllocsPerRun(100, func() { r.Lookup(full, 0x1070) })
	assert.Zero(t, allocs, "Lookup of a loaded PDB allocates")
}

// The first Lookup of an image finds its PDB; concurrent Lookups wait for
// that one search instead of starting their own.
func TestResolverLazyOnce(t *testing.T) {
	req, pdb := fixtureRequest(t, "x64-full")
	srv := newSymServer(t)
	srv.delay = 20 * time.Millisecond
	srv.put(urlPath(req, "x64-full.pdb"), pdb)
	l, _ := newTestLocator(t, "srv*"+t.TempDir()+"*"+srv.URL, Options{})
	r := NewResolver(l)
	var wg sync.WaitGroup
	names := make([]string, 8)
	for i := range names {
		wg.Go(func() {
			if s, ok := r.Lookup(req, 0x1030); ok {
				names[i] = s.Name
			}
		})
	}
	wg.Wait()
	for _, n := range names {
		assert.Equal(t, "SepDuplicateToken", n)
	}
	assert.Len(t, srv.requests(), 1, "one download for eight lookups")
	require.Len(t, r.Results(), 1)
	assert.Equal(t, Found, r.Results()[0].Tried[len(r.Results()[0].Tried)-1].Outcome)
}

// A search cut short by its context is not kept: the next request looks
// again.
func TestResolverCanceled(t *testing.T) {
	req, _ := fixtureRequest(t, "x64-full")
	req.Name = "x64-full.pdb"
	l, _ := newTestLocator(t, fixtureDir, Options{})
	r := NewResolver(l)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	res := r.Find(ctx, req)
	assert.Nil(t, res.PDB)
	assert.True(t, errors.Is(res.Err, context.Canceled), "%v", res.Err)
	assert.Empty(t, r.Results())

	res = r.Find(context.Background(), req)
	require.NotNil(t, res.PDB, tried(res))
	assert.Len(t, r.Results(), 1)
}

func TestResolverNilLocator(t *testing.T) {
	req, _ := fixtureRequest(t, "x64-full")
	r := NewResolver(nil)
	_, ok := r.Lookup(req, 0x1030)
	assert.False(t, ok)
	res := r.Find(context.Background(), req)
	assert.ErrorIs(t, res.Err, ErrNotFound)
	assert.Contains(t, res.Err.Error(), "symbol path is empty")
}
