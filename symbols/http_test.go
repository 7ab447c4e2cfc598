package symbols

import (
	"bytes"
	"compress/gzip"
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// symServer is a loopback symbol server: files by URL path, plus
// handlers for special paths, and a log of the paths asked for.
type symServer struct {
	*httptest.Server
	mu       sync.Mutex
	files    map[string][]byte
	special  map[string]http.HandlerFunc
	hits     []string
	inFlight atomic.Int32
	maxIn    atomic.Int32
	delay    time.Duration
	agents   []string
}

func newSymServer(t testing.TB) *symServer {
	s := &symServer{files: map[string][]byte{}, special: map[string]http.HandlerFunc{}}
	s.Server = httptest.NewServer(http.HandlerFunc(s.serve))
	t.Cleanup(s.Close)
	return s
}

func (s *symServer) serve(w http.ResponseWriter, r *http.Request) {
	n := s.inFlight.Add(1)
	defer s.inFlight.Add(-1)
	for {
		m := s.maxIn.Load()
		if n <= m || s.maxIn.CompareAndSwap(m, n) {
			break
		}
	}
	s.mu.Lock()
	s.hits = append(s.hits, r.URL.Path)
	s.agents = append(s.agents, r.UserAgent())
	h, data, ok := s.special[r.URL.Path], s.files[r.URL.Path], false
	if data != nil {
		ok = true
	}
	s.mu.Unlock()
	if s.delay > 0 {
		time.Sleep(s.delay)
	}
	switch {
	case h != nil:
		h(w, r)
	case ok:
		w.Header().Set("Content-Type", "application/octet-stream")
		w.Header().Set("Content-Length", strconv.Itoa(len(data)))
		w.Write(data)
	default:
		http.NotFound(w, r)
	}
}

func (s *symServer) put(path string, data []byte) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.files[path] = data
}

func (s *symServer) handle(path string, h http.HandlerFunc) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.special[path] = h
}

func (s *symServer) requests() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slicesClone(s.hits)
}

func slicesClone(s []string) []string { return append([]string(nil), s...) }

// urlPath is /NAME/KEY/file for a request.
func urlPath(req Request, file string) string {
	name, _ := CleanPDBName(req.Name)
	return "/" + name + "/" + req.Identity().StoreKey() + "/" + file
}

func TestHTTPDownload(t *testing.T) {
	req, pdb := fixtureRequest(t, "x64-full")
	srv := newSymServer(t)
	srv.put("/sym"+urlPath(req, "x64-full.pdb"), pdb)
	cache := t.TempDir()
	var mu sync.Mutex
	var prog []Progress
	l, _ := newTestLocator(t, "srv*"+cache+"*"+srv.URL+"/sym/", Options{Progress: func(p Progress) {
		mu.Lock()
		prog = append(prog, p)
		mu.Unlock()
	}})
	res, err := l.Find(context.Background(), req)
	requireFound(t, res, err, keyPath(cache, req, "x64-full.pdb"), pdb)
	assert.Equal(t, []string{"/sym" + urlPath(req, "x64-full.pdb")}, srv.requests())
	srv.mu.Lock()
	assert.Equal(t, []string{defaultUserAgent}, srv.agents)
	srv.mu.Unlock()
	assert.Equal(t, []Outcome{NotFound, Found}, outcomes(res))
	assert.Equal(t, srv.URL+"/sym"+urlPath(req, "x64-full.pdb"), res.Tried[1].Where)
	assert.Equal(t, []string{strings.TrimPrefix(keyPath(cache, req, "x64-full.pdb"), cache+"/")}, regularFiles(t, cache))

	require.NotEmpty(t, prog)
	last := prog[len(prog)-1]
	assert.True(t, last.Finished)
	assert.NoError(t, last.Err)
	assert.Equal(t, int64(len(pdb)), last.Done)
	assert.Equal(t, int64(len(pdb)), last.Total)
	assert.Equal(t, "x64-full.pdb", last.Name)
	assert.Equal(t, "x64-full.pdb 76.0 KiB/76.0 KiB 100% done", last.String())
	assert.Equal(t, int64(0), prog[0].Done)

	// The cache serves the next run, offline.
	l, _ = newTestLocator(t, "srv*"+cache+"*"+srv.URL+"/sym", Options{Offline: true})
	res, err = l.Find(context.Background(), req)
	requireFound(t, res, err, keyPath(cache, req, "x64-full.pdb"), pdb)
	assert.Len(t, srv.requests(), 1)
}

func TestHTTPRedirect(t *testing.T) {
	req, pdb := fixtureRequest(t, "x64-full")
	srv := newSymServer(t)
	srv.put("/blob/abc", pdb)
	srv.handle(urlPath(req, "x64-full.pdb"), func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, "/hop?n=1", http.StatusFound)
	})
	srv.handle("/hop", func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, "/blob/abc?sv=2020&sig=SECRET", http.StatusTemporaryRedirect)
	})
	cache := t.TempDir()
	l, _ := newTestLocator(t, "srv*"+cache+"*"+srv.URL, Options{})
	res, err := l.Find(context.Background(), req)
	requireFound(t, res, err, keyPath(cache, req, "x64-full.pdb"), pdb)
	assert.Contains(t, res.Tried[len(res.Tried)-1].Where, "redirected to "+srv.URL+"/blob/abc")
	assert.NotContains(t, tried(res), "SECRET", "signatures stay out of reports")

	// Nor in network errors on the redirect target.
	gone := httptest.NewServer(http.NotFoundHandler())
	goneURL := gone.URL
	gone.Close()
	srv.handle(urlPath(req, "x64-full.pdb"), func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, goneURL+"/blob?sig=SECRET", http.StatusFound)
	})
	l, _ = newTestLocator(t, "srv*"+t.TempDir()+"*"+srv.URL, Options{})
	res, err = l.Find(context.Background(), req)
	require.ErrorIs(t, err, ErrNotFound)
	assert.Equal(t, Failed, res.Tried[1].Outcome, "%s", tried(res))
	assert.Contains(t, tried(res), goneURL+"/blob")
	assert.NotContains(t, tried(res), "SECRET")

	// A redirect loop ends.
	srv.handle("/loop", func(w http.ResponseWriter, r *http.Request) { http.Redirect(w, r, "/loop", http.StatusFound) })
	srv.handle(urlPath(req, "x64-full.pdb"), func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, "/loop", http.StatusFound)
	})
	l, _ = newTestLocator(t, "srv*"+t.TempDir()+"*"+srv.URL, Options{})
	res, err = l.Find(context.Background(), req)
	require.ErrorIs(t, err, ErrNotFound)
	assert.Contains(t, tried(res), "stopped after 10 redirects")
}

func TestHTTP404ThenNextEntry(t *testing.T) {
	req, pdb := fixtureRequest(t, "x64-full")
	empty, full := newSymServer(t), newSymServer(t)
	full.put(urlPath(req, "x64-full.pdb"), pdb)
	cache := t.TempDir()
	path := "srv*" + cache + "*" + empty.URL + ";srv*" + cache + "*" + full.URL
	l, _ := newTestLocator(t, path, Options{})
	res, err := l.Find(context.Background(), req)
	requireFound(t, res, err, keyPath(cache, req, "x64-full.pdb"), pdb)
	assert.Equal(t, []string{urlPath(req, "x64-full.pdb"), urlPath(req, "x64-full.pd_"), urlPath(req, "file.ptr")}, empty.requests())
	assert.Equal(t, "srv*"+cache+"*"+full.URL, res.Source)
	assert.Equal(t, []Outcome{NotFound, NotFound, NotFound, NotFound, NotFound, Found}, outcomes(res), "%s", tried(res))
	assert.Contains(t, res.Tried[1].String(), "404")

	// S3-style 403 for a missing key and 410 also mean "not here"; a
	// 500 gives up on the server but not on the path.
	for code, want := range map[int]Outcome{http.StatusForbidden: NotFound, http.StatusGone: NotFound, http.StatusInternalServerError: Failed} {
		odd := newSymServer(t)
		odd.handle(urlPath(req, "x64-full.pdb"), func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(code) })
		l, _ := newTestLocator(t, "srv*"+t.TempDir()+"*"+odd.URL+";srv*"+cache+"*"+full.URL, Options{})
		res, err := l.Find(context.Background(), req)
		require.NoError(t, err)
		assert.Equal(t, want, res.Tried[1].Outcome, "%d", code)
		if want == Failed {
			assert.Len(t, odd.requests(), 1, "nothing more asked of a failing server")
		}
	}
}

func TestHTTPCompressed(t *testing.T) {
	req, pdb := fixtureRequest(t, "x64-full")
	cab, err := os.ReadFile(gcabFixture)
	require.NoError(t, err)
	srv := newSymServer(t)
	srv.put(urlPath(req, "x64-full.pd_"), cab)
	c1, c2 := t.TempDir(), t.TempDir()
	l, _ := newTestLocator(t, "srv*"+c1+"*"+c2+"*"+srv.URL, Options{})
	res, err := l.Find(context.Background(), req)
	requireFound(t, res, err, keyPath(c1, req, "x64-full.pdb"), pdb)
	assert.Contains(t, res.Tried[len(res.Tried)-1].Note, "downloaded cabinet, expanded to")
	for _, c := range []string{c1, c2} {
		assert.Equal(t, []string{strings.TrimPrefix(keyPath(c, req, "x64-full.pdb"), c+"/")}, regularFiles(t, c),
			"only the expanded PDB, no .pd_ or temporary file")
	}

	// A self-made cabinet with history across blocks, over a gzip
	// Content-Encoding.
	srv2 := newSymServer(t)
	big, bigPDB := fixtureRequest(t, "big")
	c := makeCab(t, "big.pdb", bigPDB, cabOpts{comp: cabCompMSZIP, block: 4096})
	srv2.handle(urlPath(big, "big.pd_"), func(w http.ResponseWriter, r *http.Request) {
		var gz bytes.Buffer
		zw := gzip.NewWriter(&gz)
		zw.Write(c)
		zw.Close()
		w.Header().Set("Content-Encoding", "gzip")
		w.Write(gz.Bytes())
	})
	l, dc := newTestLocator(t, "srv*"+srv2.URL, Options{})
	res, err = l.Find(context.Background(), big)
	requireFound(t, res, err, keyPath(dc, big, "big.pdb"), bigPDB)

	// LZX from a server: reported, nothing kept.
	srv3 := newSymServer(t)
	srv3.put(urlPath(req, "x64-full.pd_"), makeCab(t, "x64-full.pdb", pdb, cabOpts{comp: cabCompLZX}))
	l, dc = newTestLocator(t, "srv*"+srv3.URL, Options{})
	res, err = l.Find(context.Background(), req)
	require.ErrorIs(t, err, ErrNotFound)
	assert.Equal(t, []Outcome{NotFound, Unsupported, NotFound}, outcomes(res), "%s", tried(res))
	assert.ErrorIs(t, res.Tried[1].Err, ErrLZX)
	assert.Empty(t, regularFiles(t, dc))
}

func TestHTTPFilePtr(t *testing.T) {
	req, pdb := fixtureRequest(t, "x64-full")
	srv := newSymServer(t)
	srv.put("/elsewhere/x64-full.pdb", pdb)
	srv.put(urlPath(req, "file.ptr"), []byte("PATH:"+srv.URL+"/elsewhere/x64-full.pdb"))
	l, dc := newTestLocator(t, "srv*"+srv.URL, Options{})
	res, err := l.Find(context.Background(), req)
	requireFound(t, res, err, keyPath(dc, req, "x64-full.pdb"), pdb)
	assert.Equal(t, []Outcome{NotFound, NotFound, Pointer, Found}, outcomes(res), "%s", tried(res))

	// A server's file.ptr may not point into the local file system.
	local := filepath.Join(t.TempDir(), "x64-full.pdb")
	putFile(t, local, pdb)
	srv.put(urlPath(req, "file.ptr"), []byte("PATH:"+local))
	res, err = l.Find(context.Background(), req)
	require.ErrorIs(t, err, ErrNotFound)
	assert.Equal(t, Skipped, res.Tried[2].Outcome)

	srv.put(urlPath(req, "file.ptr"), []byte("MSG:not published"))
	res, err = l.Find(context.Background(), req)
	require.ErrorIs(t, err, ErrNotFound)
	assert.Equal(t, Message, res.Tried[2].Outcome)
	assert.Equal(t, "MSG:not published", res.Tried[2].Note)
}

func TestHTTPTimeout(t *testing.T) {
	req, pdb := fixtureRequest(t, "x64-full")
	slow := newSymServer(t)
	release := make(chan struct{})
	defer close(release)
	slow.handle(urlPath(req, "x64-full.pdb"), func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-r.Context().Done():
		case <-release:
		}
	})
	good := newSymServer(t)
	good.put(urlPath(req, "x64-full.pdb"), pdb)
	cache := t.TempDir()
	path := "srv*" + cache + "*" + slow.URL + ";srv*" + cache + "*" + good.URL
	l, _ := newTestLocator(t, path, Options{Timeout: 500 * time.Millisecond})
	start := time.Now()
	res, err := l.Find(context.Background(), req)
	requireFound(t, res, err, keyPath(cache, req, "x64-full.pdb"), pdb)
	assert.Less(t, time.Since(start), 3*time.Second)
	require.Equal(t, []Outcome{NotFound, Failed, NotFound, Found}, outcomes(res), "%s", tried(res))
	assert.ErrorIs(t, res.Tried[1].Err, ErrTimeout)

	// The dead server is skipped for the rest of the Locator's life.
	other, _ := fixtureRequest(t, "x86-full")
	res, _ = l.Find(context.Background(), other)
	assert.Equal(t, Skipped, res.Tried[1].Outcome, "%s", tried(res))
	assert.Contains(t, res.Tried[1].String(), "skipped: "+slow.URL+": the server failed earlier in this run: symbol server timed out")
	assert.Len(t, slow.requests(), 1)

	// A stall in the middle of the body times out too, and leaves
	// nothing in the cache.
	stall := newSymServer(t)
	stall.handle(urlPath(req, "x64-full.pdb"), func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Length", strconv.Itoa(len(pdb)))
		w.Write(pdb[:len(pdb)/2])
		w.(http.Flusher).Flush()
		select {
		case <-r.Context().Done():
		case <-release:
		}
	})
	cache2 := t.TempDir()
	l, _ = newTestLocator(t, "srv*"+cache2+"*"+stall.URL, Options{Timeout: 500 * time.Millisecond})
	res, err = l.Find(context.Background(), req)
	require.ErrorIs(t, err, ErrNotFound)
	assert.ErrorIs(t, res.Tried[1].Err, ErrTimeout, "%s", tried(res))
	assert.Empty(t, regularFiles(t, cache2))

	// A slow but steady download is not a stall: it takes longer than
	// the timeout, but no gap comes near it.
	steady := newSymServer(t)
	// Gaps are a tenth of the timeout, so a loaded machine does not
	// turn the steady download into a stall.
	const chunks, gap, timeout = 16, 50 * time.Millisecond, 500 * time.Millisecond
	steady.handle(urlPath(req, "x64-full.pdb"), func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Length", strconv.Itoa(len(pdb)))
		step := (len(pdb) + chunks - 1) / chunks
		for i := 0; i < len(pdb); i += step {
			w.Write(pdb[i:min(i+step, len(pdb))])
			w.(http.Flusher).Flush()
			time.Sleep(gap)
		}
	})
	cache3 := t.TempDir()
	l, _ = newTestLocator(t, "srv*"+cache3+"*"+steady.URL, Options{Timeout: timeout})
	start = time.Now()
	res, err = l.Find(context.Background(), req)
	requireFound(t, res, err, keyPath(cache3, req, "x64-full.pdb"), pdb)
	assert.Greater(t, time.Since(start), timeout)

	// The overall context ends the search.
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	l, _ = newTestLocator(t, "srv*"+t.TempDir()+"*"+slow.URL, Options{})
	start = time.Now()
	res, err = l.Find(ctx, req)
	assert.ErrorIs(t, err, context.DeadlineExceeded)
	assert.Less(t, time.Since(start), 3*time.Second)
	assert.Nil(t, res.PDB)
}

func TestHTTPSizeLimit(t *testing.T) {
	req, pdb := fixtureRequest(t, "x64-full")
	srv := newSymServer(t)
	srv.put(urlPath(req, "x64-full.pdb"), pdb)
	// Without a Content-Length the limit is found while reading.
	srv.handle(urlPath(req, "x64-full.pd_"), func(w http.ResponseWriter, r *http.Request) {
		w.Write(pdb[:100])
		w.(http.Flusher).Flush() // forces chunked encoding
		w.Write(pdb[100:])
	})
	cache := t.TempDir()
	l, _ := newTestLocator(t, "srv*"+cache+"*"+srv.URL, Options{MaxSize: 10000})
	res, err := l.Find(context.Background(), req)
	require.ErrorIs(t, err, ErrNotFound)
	require.Equal(t, []Outcome{NotFound, Failed, Failed, NotFound}, outcomes(res), "%s", tried(res))
	assert.ErrorIs(t, res.Tried[1].Err, ErrTooLarge)
	assert.Contains(t, res.Tried[1].Err.Error(), "announces 77824 bytes")
	assert.ErrorIs(t, res.Tried[2].Err, ErrTooLarge)
	assert.Empty(t, regularFiles(t, cache))
	entries, err := os.ReadDir(cache)
	require.NoError(t, err)
	assert.Empty(t, entries)

	// An expanded cabinet is held to the limit too.
	srv2 := newSymServer(t)
	cab, err := os.ReadFile(gcabFixture)
	require.NoError(t, err)
	srv2.put(urlPath(req, "x64-full.pd_"), cab)
	l, _ = newTestLocator(t, "srv*"+cache+"*"+srv2.URL, Options{MaxSize: 10000})
	res, _ = l.Find(context.Background(), req)
	assert.ErrorIs(t, res.Tried[2].Err, ErrTooLarge, "%s", tried(res))
	assert.Empty(t, regularFiles(t, cache))
}

func TestHTTPRefusesNonPDB(t *testing.T) {
	req, _ := fixtureRequest(t, "x64-full")
	srv := newSymServer(t)
	srv.handle(urlPath(req, "x64-full.pdb"), func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html")
		w.Write([]byte("<!DOCTYPE html><html><body>Please sign in</body></html>"))
	})
	srv.put(urlPath(req, "x64-full.pd_"), []byte("Microsoft MSFZ Container\r\n\x1aALD\x00\x00..."))
	cache := t.TempDir()
	var prog []Progress
	l, _ := newTestLocator(t, "srv*"+cache+"*"+srv.URL, Options{Progress: func(p Progress) { prog = append(prog, p) }})
	res, err := l.Find(context.Background(), req)
	require.ErrorIs(t, err, ErrNotFound)
	require.Equal(t, []Outcome{NotFound, Failed, Unsupported, NotFound}, outcomes(res), "%s", tried(res))
	assert.ErrorIs(t, res.Tried[1].Err, ErrNotSymbolFile)
	assert.Contains(t, res.Tried[1].String(), `starts with "<!DOCTYPE html><html><bo..."`)
	assert.ErrorIs(t, res.Tried[2].Err, ErrMSFZ)
	assert.Empty(t, regularFiles(t, cache))
	require.NotEmpty(t, prog)
	assert.True(t, prog[len(prog)-1].Finished)
	assert.Error(t, prog[len(prog)-1].Err)

	// A mismatching PDB from a server is reported and not cached.
	srv2 := newSymServer(t)
	srv2.put(urlPath(req, "x64-full.pdb"), readFixture(t, "x64-publics"))
	l, _ = newTestLocator(t, "srv*"+cache+"*"+srv2.URL, Options{})
	res, err = l.Find(context.Background(), req)
	require.ErrorIs(t, err, ErrNotFound)
	require.Equal(t, Mismatch, res.Tried[1].Outcome, "%s", tried(res))
	assert.Equal(t, openFixture(t, "x64-publics").Identity(), res.Tried[1].Got)
	assert.Equal(t, srv2.URL+urlPath(req, "x64-full.pdb"), res.Tried[1].Where)
	assert.Empty(t, regularFiles(t, cache))
}

// TestHTTPAtomicCache: a download cut short leaves no file at all in
// the cache, neither under the final name nor a temporary one.
func TestHTTPAtomicCache(t *testing.T) {
	req, pdb := fixtureRequest(t, "x64-full")
	srv := newSymServer(t)
	srv.handle(urlPath(req, "x64-full.pdb"), func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Length", strconv.Itoa(len(pdb)))
		w.Write(pdb[:40000]) // the handler returns early: the connection is cut
	})
	cache := t.TempDir()
	l, _ := newTestLocator(t, "srv*"+cache+"*"+srv.URL, Options{})
	res, err := l.Find(context.Background(), req)
	require.ErrorIs(t, err, ErrNotFound)
	assert.Equal(t, Failed, res.Tried[1].Outcome, "%s", tried(res))
	assert.Empty(t, regularFiles(t, cache))
	entries, err := os.ReadDir(cache)
	require.NoError(t, err)
	assert.Empty(t, entries, "no directories left behind")

	// Into an existing store directory: only the temporary file goes.
	keep := keyPath(cache, req, "keep.txt")
	putFile(t, keep, []byte("x"))
	l, _ = newTestLocator(t, "srv*"+cache+"*"+srv.URL, Options{})
	_, err = l.Find(context.Background(), req)
	require.Error(t, err)
	assert.Equal(t, []string{strings.TrimPrefix(keep, cache+"/")}, regularFiles(t, cache))
}

func TestHTTPBadNames(t *testing.T) {
	req, _ := fixtureRequest(t, "x64-full")
	srv := newSymServer(t)
	cache := t.TempDir()
	l, _ := newTestLocator(t, "srv*"+cache+"*"+srv.URL, Options{})
	for _, name := range []string{"..", `x\..`, "../", "", "a:b.pdb", "nul", "x\x00.pdb", strings.Repeat("n", 300), "a?b.pdb"} {
		r := req
		r.Name = name
		res, err := l.Find(context.Background(), r)
		require.ErrorIs(t, err, ErrBadName, "%q", name)
		assert.Empty(t, res.Tried)
		assert.Empty(t, res.Name)
	}
	assert.Empty(t, srv.requests(), "no request for a refused name")
	assert.Empty(t, regularFiles(t, cache))

	// Names that pass are escaped in URLs.
	r := req
	r.Name = `d:\build\my driver#1%.pdb`
	_, err := l.Find(context.Background(), r)
	require.ErrorIs(t, err, ErrNotFound)
	hits := srv.requests()
	require.NotEmpty(t, hits)
	assert.Equal(t, "/my driver#1%.pdb/"+req.Identity().StoreKey()+"/my driver#1%.pdb", hits[0])
}

func TestHTTPOffline(t *testing.T) {
	req, pdb := fixtureRequest(t, "x64-full")
	srv := newSymServer(t)
	srv.put(urlPath(req, "x64-full.pdb"), pdb)
	client := &http.Client{Transport: roundTripFunc(func(r *http.Request) (*http.Response, error) {
		t.Errorf("offline locator made a request: %s", r.URL)
		return nil, errors.New("offline")
	})}
	cache := t.TempDir()
	l, _ := newTestLocator(t, "srv*"+cache+"*"+srv.URL+";srv*"+srv.URL, Options{Offline: true, Client: client})
	res, err := l.Find(context.Background(), req)
	require.ErrorIs(t, err, ErrNotFound)
	assert.Equal(t, []Outcome{NotFound, Skipped, Skipped}, outcomes(res))
	assert.Equal(t, "offline", res.Tried[1].Note)
	assert.Contains(t, err.Error(), "2 skipped")
	rs := l.FindAll(context.Background(), []Request{req, req})
	for _, r := range rs {
		assert.ErrorIs(t, r.Err, ErrNotFound)
	}
	assert.Empty(t, srv.requests())

	// Local stores still serve.
	putFile(t, keyPath(cache, req, "x64-full.pdb"), pdb)
	res, err = l.Find(context.Background(), req)
	requireFound(t, res, err, keyPath(cache, req, "x64-full.pdb"), pdb)
}

type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

func TestFindAll(t *testing.T) {
	names := []string{"x64-full", "x64-publics", "x86-full", "big", "x64-page8k"}
	srv := newSymServer(t)
	srv.delay = 50 * time.Millisecond
	var reqs []Request
	var want [][]byte
	for _, n := range names {
		r, data := fixtureRequest(t, n)
		srv.put(urlPath(r, n+".pdb"), data)
		reqs = append(reqs, r)
		want = append(want, data)
	}
	missing := Request{Name: "missing.pdb", GUID: GUID{1}, Age: 1}
	bad := Request{Name: "..", GUID: GUID{2}, Age: 1}
	all := append(slicesCloneReq(reqs), missing, reqs[0], bad, reqs[2])
	cache := t.TempDir()
	var progMu sync.Mutex
	finished := map[string]int{}
	l, _ := newTestLocator(t, "srv*"+cache+"*"+srv.URL, Options{Workers: 3, Progress: func(p Progress) {
		if p.Finished {
			progMu.Lock()
			finished[p.Name]++
			progMu.Unlock()
		}
	}})
	res := l.FindAll(context.Background(), all)
	require.Len(t, res, len(all))
	for i, r := range reqs {
		assert.Equal(t, r, res[i].Request)
		requireFound(t, res[i], res[i].Err, keyPath(cache, r, names[i]+".pdb"), want[i])
	}
	assert.ErrorIs(t, res[len(reqs)].Err, ErrNotFound)
	assert.Equal(t, missing, res[len(reqs)].Request)
	assert.Equal(t, res[0].Path, res[len(reqs)+1].Path)
	assert.Same(t, res[0].PDB, res[len(reqs)+1].PDB, "a repeated request is served once")
	assert.ErrorIs(t, res[len(reqs)+2].Err, ErrBadName)
	assert.Same(t, res[2].PDB, res[len(reqs)+3].PDB)

	// 5 PDBs and 3 requests for the missing one, at most 3 at once.
	assert.Len(t, srv.requests(), len(names)+3)
	assert.LessOrEqual(t, srv.maxIn.Load(), int32(3))
	assert.GreaterOrEqual(t, srv.maxIn.Load(), int32(2), "downloads overlap")
	for _, n := range names {
		assert.Equal(t, 1, finished[n+".pdb"], n)
	}

	// An ended context ends every request.
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	for _, r := range l.FindAll(ctx, reqs) {
		assert.ErrorIs(t, r.Err, context.Canceled)
	}
	assert.Empty(t, l.FindAll(context.Background(), nil))
}

func slicesCloneReq(r []Request) []Request { return append([]Request(nil), r...) }
