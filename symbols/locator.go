package symbols

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"
)

// Request asks for the PDB of one image: the PDB name, GUID and age
// from the image's CodeView (RSDS) record, as a trace's DbgID_RSDS
// event carries them. Name may be a full build path; only its base name
// is used, after CleanPDBName has checked it.
type Request struct {
	Name string
	GUID GUID
	Age  uint32
}

// Identity returns the GUID and age asked for.
func (r Request) Identity() Identity { return Identity{GUID: r.GUID, Age: r.Age} }

// Outcome says what happened at one place a Locator looked.
type Outcome uint8

const (
	// Found: the PDB is here and matches; it is the one returned.
	Found Outcome = iota + 1
	// NotFound: nothing is here (no file, no store directory, HTTP 404).
	NotFound
	// Mismatch: a PDB is here but its GUID or DBI age differ
	// (Attempt.Got); it was not used and not cached.
	Mismatch
	// Message: a file.ptr says "MSG:" (Attempt.Note): the store knows the
	// file and says why it is not available.
	Message
	// Pointer: a file.ptr says "PATH:" (Attempt.Note); the target is the
	// next attempt.
	Pointer
	// Skipped: not looked at (offline mode, a server that failed earlier,
	// a file.ptr target that may not be followed); Attempt.Note says why.
	Skipped
	// Unsupported: a file in a form this package does not read: an MSFZ
	// PDB (ErrMSFZ), an LZX cabinet (ErrLZX). Attempt.Err says which.
	Unsupported
	// Failed: an error (Attempt.Err): I/O, network, HTTP status, a
	// corrupt file, a reply that is not a PDB (ErrNotSymbolFile), a size
	// over the limit (ErrTooLarge).
	Failed
)

func (o Outcome) String() string {
	switch o {
	case Found:
		return "found"
	case NotFound:
		return "not found"
	case Mismatch:
		return "mismatch"
	case Message:
		return "message"
	case Pointer:
		return "pointer"
	case Skipped:
		return "skipped"
	case Unsupported:
		return "unsupported"
	case Failed:
		return "failed"
	}
	return "unknown"
}

// Attempt is one place a Locator looked at and what it found there.
type Attempt struct {
	// Element is the symbol path element being searched, as written.
	Element string
	// Where is the file, directory or URL looked at. URLs are shown
	// without their query string.
	Where   string
	Outcome Outcome
	// Got is the identity of the PDB found, for Mismatch.
	Got Identity
	// Note adds detail: a file.ptr's text, a redirect, why a place was
	// skipped or empty.
	Note string
	// Err is the error, for Failed and Unsupported.
	Err error
}

// String returns "outcome: where[: note][: error]", plus the identity
// found for a mismatch.
func (a Attempt) String() string {
	var b strings.Builder
	b.WriteString(a.Outcome.String())
	b.WriteString(": ")
	b.WriteString(a.Where)
	if a.Outcome == Mismatch {
		fmt.Fprintf(&b, ": PDB is %v", a.Got)
	}
	if a.Note != "" {
		b.WriteString(": ")
		b.WriteString(a.Note)
	}
	if a.Err != nil {
		b.WriteString(": ")
		b.WriteString(a.Err.Error())
	}
	return b.String()
}

// Result is the answer to a Request.
type Result struct {
	Request Request
	// Name is the cleaned PDB file name and Key the store key
	// (Identity.StoreKey); Name is "" when the request's name was refused.
	Name, Key string
	// Path is the PDB file used: where it was found, or the copy in the
	// nearest downstream store or cache. "" when not found.
	Path string
	// PDB is the loaded PDB, nil when not found. It matches the request.
	PDB *PDB
	// Source is the symbol path element that provided the PDB, as written.
	Source string
	// Tried lists every place looked at, in order, and what was there;
	// when found, the last attempt is the Found one. Copies into
	// downstream stores that failed are listed after it.
	Tried []Attempt
	// Err is the error Find returned.
	Err error
}

// Summary returns one line on the result: where the PDB was found, or
// the error.
func (r Result) Summary() string {
	name := r.Name
	if name == "" {
		name = r.Request.Name
	}
	switch {
	case r.PDB != nil:
		return fmt.Sprintf("%s %s: found in %s: %s", name, r.Key, r.Source, r.Path)
	case r.Err != nil:
		return r.Err.Error()
	}
	return name + ": not looked for"
}

// ErrNotFound is wrapped by the error for a PDB found nowhere on the
// symbol path; Result.Tried says where it was looked for.
var ErrNotFound = errors.New("PDB not found")

// Options configure a Locator. The zero value works: the defaults are
// noted on each field.
type Options struct {
	// DefaultCache is the directory used for empty stores ("srv**URL",
	// "cache*") and for downloads from a "srv*URL" element that names no
	// store. Default: poolprof/symbols under os.UserCacheDir.
	DefaultCache string
	// Offline forbids the network: HTTP servers are skipped (and listed
	// as such); folders, stores and caches are still searched.
	Offline bool
	// Client makes the HTTP requests. Default: a client that follows up
	// to 10 redirects.
	Client *http.Client
	// UserAgent is sent with every request. Default:
	// "Microsoft-Symbol-Server/10.0.0.0", which some servers require.
	UserAgent string
	// Timeout is how long a request may wait for the server: for the
	// reply headers and then between reads of the body, so that a large
	// download may take longer as long as data keeps coming. A server
	// that times out or cannot be reached is skipped for the rest of the
	// Locator's life. Default 30s.
	Timeout time.Duration
	// MaxSize is the largest file accepted, downloaded or expanded.
	// Default 1 GiB.
	MaxSize int64
	// Workers is how many requests FindAll serves at once. Default 4.
	Workers int
	// Progress, when set, is called during downloads: when a reply
	// arrives, as the body comes in, and when it ends (Finished). FindAll
	// calls it from several goroutines at once.
	Progress func(Progress)
}

// Progress reports on one download.
type Progress struct {
	Name  string // the PDB name
	URL   string // without query string
	Done  int64  // bytes received so far
	Total int64  // bytes expected, -1 when the server did not say
	// Finished is set on the last call for a download; Err says whether
	// it failed (a refused or mismatched file is a failure too).
	Finished bool
	Err      error
}

// String renders the progress for a terminal line, e.g.
// "ntkrnlmp.pdb 1.5 MiB/10.0 MiB 15%".
func (p Progress) String() string {
	s := p.Name + " " + byteSize(p.Done)
	if p.Total >= 0 {
		s += "/" + byteSize(p.Total)
		if p.Total > 0 {
			s += fmt.Sprintf(" %d%%", p.Done*100/p.Total)
		}
	}
	if p.Finished {
		if p.Err != nil {
			s += " failed"
		} else {
			s += " done"
		}
	}
	return s
}

func byteSize(n int64) string {
	switch {
	case n >= 1<<30:
		return fmt.Sprintf("%.1f GiB", float64(n)/(1<<30))
	case n >= 1<<20:
		return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20))
	case n >= 1<<10:
		return fmt.Sprintf("%.1f KiB", float64(n)/(1<<10))
	}
	return fmt.Sprintf("%d B", n)
}

const (
	defaultUserAgent = "Microsoft-Symbol-Server/10.0.0.0"
	defaultTimeout   = 30 * time.Second
	defaultMaxSize   = 1 << 30
	defaultWorkers   = 4
	maxRedirects     = 10
)

// Locator finds PDBs along a symbol path: in folders, symbol stores
// (one-tier, two-tier, compressed entries, file.ptr) and on HTTP symbol
// servers, copying what it finds into downstream stores and caches. A
// PDB is used only when its GUID and DBI age match the request. A
// Locator is safe for concurrent use.
type Locator struct {
	path   SymbolPath
	opt    Options
	client *http.Client

	mu   sync.Mutex
	dead map[string]error // server URL -> the error that made it dead
}

// NewLocator returns a Locator searching path with the given options.
func NewLocator(path SymbolPath, opt Options) *Locator {
	if opt.UserAgent == "" {
		opt.UserAgent = defaultUserAgent
	}
	if opt.Timeout <= 0 {
		opt.Timeout = defaultTimeout
	}
	if opt.MaxSize <= 0 {
		opt.MaxSize = defaultMaxSize
	}
	if opt.Workers <= 0 {
		opt.Workers = defaultWorkers
	}
	l := &Locator{path: path, opt: opt, client: opt.Client, dead: map[string]error{}}
	if l.client == nil {
		l.client = &http.Client{CheckRedirect: func(req *http.Request, via []*http.Request) error {
			if len(via) >= maxRedirects {
				return fmt.Errorf("stopped after %d redirects", maxRedirects)
			}
			return nil
		}}
	}
	return l
}

// Path returns the symbol path the Locator searches.
func (l *Locator) Path() SymbolPath { return l.path }

// defaultCache returns the directory that stands for an empty store.
func (l *Locator) defaultCache() (string, error) {
	if l.opt.DefaultCache != "" {
		return l.opt.DefaultCache, nil
	}
	d, err := os.UserCacheDir()
	if err != nil {
		return "", fmt.Errorf("no default symbol cache (set one in the symbol path): %w", err)
	}
	return filepath.Join(d, "poolprof", "symbols"), nil
}

// dir resolves a store directory ("" = the default cache).
func (l *Locator) dir(d string) (string, error) {
	if d == "" {
		return l.defaultCache()
	}
	return d, nil
}

// Find looks for the PDB of req along the symbol path, element by
// element, and returns the first one that matches. The result says
// where it was found and lists every place looked at. A name that
// CleanPDBName refuses fails before anything is looked at. Find returns
// an error wrapping ErrNotFound when no element has the PDB, and the
// context's error when ctx ends first; the error is also in Result.Err.
func (l *Locator) Find(ctx context.Context, req Request) (Result, error) {
	res := Result{Request: req}
	name, err := CleanPDBName(req.Name)
	if err != nil {
		res.Err = err
		return res, err
	}
	res.Name, res.Key = name, req.Identity().StoreKey()
	s := &search{l: l, ctx: ctx, res: &res, name: name, key: res.Key, id: req.Identity()}
	s.run()
	switch {
	case res.PDB != nil:
	case ctx.Err() != nil:
		res.Err = fmt.Errorf("looking for %s %s: %w", name, res.Key, ctx.Err())
	default:
		res.Err = notFoundError(&res, len(l.path.Elements))
	}
	return res, res.Err
}

func notFoundError(res *Result, elems int) error {
	if elems == 0 {
		return fmt.Errorf("%w: %s %s: the symbol path is empty", ErrNotFound, res.Name, res.Key)
	}
	counts := map[Outcome]int{}
	for _, a := range res.Tried {
		counts[a.Outcome]++
	}
	var extra []string
	for _, o := range []Outcome{Mismatch, Message, Unsupported, Failed, Skipped} {
		if n := counts[o]; n > 0 {
			extra = append(extra, fmt.Sprintf("%d %s", n, o))
		}
	}
	msg := fmt.Sprintf("%d %s looked at", len(res.Tried), plural(len(res.Tried), "place", "places"))
	if len(extra) > 0 {
		msg += ": " + strings.Join(extra, ", ")
	}
	return fmt.Errorf("%w: %s %s (%s)", ErrNotFound, res.Name, res.Key, msg)
}

// FindAll serves the requests with up to Options.Workers of them at
// once and returns their results in the same order, errors in
// Result.Err. Identical requests are served once.
func (l *Locator) FindAll(ctx context.Context, reqs []Request) []Result {
	out := make([]Result, len(reqs))
	type job struct {
		req Request
		idx []int
	}
	var jobs []*job
	seen := map[Request]*job{}
	for i, r := range reqs {
		if j := seen[r]; j != nil {
			j.idx = append(j.idx, i)
			continue
		}
		j := &job{req: r, idx: []int{i}}
		seen[r] = j
		jobs = append(jobs, j)
	}
	ch := make(chan *job)
	var wg sync.WaitGroup
	for range min(l.opt.Workers, len(jobs)) {
		wg.Go(func() {
			for j := range ch {
				r, _ := l.Find(ctx, j.req)
				for _, i := range j.idx {
					out[i] = r
				}
			}
		})
	}
	for _, j := range jobs {
		ch <- j
	}
	close(ch)
	wg.Wait()
	return out
}

// markDead remembers that a server failed, so later requests skip it.
func (l *Locator) markDead(url string, err error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if _, ok := l.dead[url]; !ok {
		l.dead[url] = err
	}
}

func (l *Locator) deadErr(url string) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.dead[url]
}

func plural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}

// search is the state of one Find.
type search struct {
	l    *Locator
	ctx  context.Context
	res  *Result
	name string
	key  string
	id   Identity
	elem string // the element being searched, as written
}

func (s *search) note(a Attempt) {
	a.Element = s.elem
	s.res.Tried = append(s.res.Tried, a)
}

func (s *search) done() bool { return s.res.PDB != nil || s.ctx.Err() != nil }

func (s *search) run() {
	var caches []string // cache* directories met so far
	for _, e := range s.l.path.Elements {
		if s.done() {
			return
		}
		s.elem = e.Raw
		switch e.Kind {
		case Folder:
			if s.searchFolder(e.Dir, caches) {
				return
			}
		case Cache:
			dir, err := s.l.dir(e.Dir)
			if err != nil {
				s.note(Attempt{Where: "cache*", Outcome: Failed, Err: err})
				continue
			}
			if s.searchStore(dir, caches) {
				return
			}
			caches = append(caches, dir)
		case Server:
			var stores []string
			for _, st := range e.Stores {
				dir, err := s.l.dir(st)
				if err != nil {
					s.note(Attempt{Where: "default store", Outcome: Failed, Err: err})
					continue
				}
				if s.searchStore(dir, dests(stores, caches)) {
					return
				}
				if s.done() {
					return
				}
				stores = append(stores, dir)
			}
			if e.URL != "" {
				s.searchServer(e.URL, dests(stores, caches))
			}
		}
	}
}

// dests returns the directories a PDB found further along is copied
// into: the stores to the left in the chain, nearest-to-the-user first,
// then the caches, without repeats.
func dests(stores, caches []string) []string {
	var out []string
	seen := map[string]bool{}
	for _, d := range append(append([]string(nil), stores...), caches...) {
		c := filepath.Clean(d)
		if !seen[c] {
			seen[c] = true
			out = append(out, d)
		}
	}
	return out
}

// without returns dirs minus root.
func without(dirs []string, root string) []string {
	var out []string
	for _, d := range dirs {
		if filepath.Clean(d) != filepath.Clean(root) {
			out = append(out, d)
		}
	}
	return out
}

// searchFolder looks in a plain folder: DIR/NAME, then DIR as a store.
func (s *search) searchFolder(dir string, dst []string) bool {
	p := filepath.Join(dir, s.name)
	if !isDir(p) { // a directory of that name is a store's: looked at next
		found, exists := s.tryFile(p, dst)
		if found {
			return true
		}
		if !exists {
			s.note(Attempt{Where: p, Outcome: NotFound})
		}
		if s.done() {
			return false
		}
	}
	return s.searchStore(dir, dst)
}

// searchStore looks in the symbol store at root: NAME/KEY/NAME, then
// NAME/KEY/NAME_ (compressed), then NAME/KEY/file.ptr, in the store's
// layout. What it finds is copied into dst.
func (s *search) searchStore(root string, dst []string) bool {
	dst = without(dst, root)
	cands := keyDirCandidates(root, s.name, s.key)
	keyDir := ""
	for _, d := range cands {
		if isDir(d) {
			keyDir = d
			break
		}
	}
	if keyDir == "" {
		note := "no such directory"
		if !isDir(root) {
			note = "the store " + root + " does not exist"
		}
		s.note(Attempt{Where: cands[0], Outcome: NotFound, Note: note})
		return false
	}
	seen := false
	for _, fn := range []string{s.name, compressedName(s.name)} {
		found, exists := s.tryFile(filepath.Join(keyDir, fn), dst)
		if found {
			return true
		}
		seen = seen || exists
		if s.done() {
			return false
		}
	}
	ptr := filepath.Join(keyDir, "file.ptr")
	ok, err := isRegular(ptr)
	switch {
	case err != nil:
		s.note(Attempt{Where: ptr, Outcome: Failed, Err: err})
		return false
	case !ok:
		if !seen {
			s.note(Attempt{Where: keyDir, Outcome: NotFound, Note: fmt.Sprintf("holds none of %s, %s, file.ptr", s.name, compressedName(s.name))})
		}
		return false
	}
	b, err := readSmall(ptr, maxPtrSize)
	if err != nil {
		s.note(Attempt{Where: ptr, Outcome: Failed, Err: err})
		return false
	}
	fp, err := parseFilePtr(b)
	if err != nil {
		s.note(Attempt{Where: ptr, Outcome: Failed, Err: err})
		return false
	}
	if fp.path == "" {
		s.note(Attempt{Where: ptr, Outcome: Message, Note: "MSG:" + fp.msg})
		return false
	}
	target, err := resolvePtrPath(root, fp.path)
	if err != nil {
		s.note(Attempt{Where: ptr, Outcome: Skipped, Note: "PATH:" + fp.path, Err: err})
		return false
	}
	s.note(Attempt{Where: ptr, Outcome: Pointer, Note: "PATH:" + fp.path})
	found, exists := s.tryFile(target, dst)
	if !found && !exists {
		s.note(Attempt{Where: target, Outcome: NotFound, Note: "file.ptr target"})
	}
	return found
}

// readSmall reads a file of at most max bytes.
func readSmall(path string, max int64) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, max+1))
	if err != nil {
		return nil, err
	}
	if int64(len(b)) > max {
		return nil, fmt.Errorf("%s: larger than %d bytes", path, max)
	}
	return b, nil
}

// tryFile examines a local file that may be the PDB, compressed or
// not. It records an attempt unless the file does not exist; found
// reports a match (now in s.res), exists whether there was a file.
func (s *search) tryFile(path string, dst []string) (found, exists bool) {
	ok, err := isRegular(path)
	if err != nil {
		s.note(Attempt{Where: path, Outcome: Failed, Err: err})
		return false, true
	}
	if !ok {
		return false, false
	}
	f, err := os.Open(path)
	if err != nil {
		s.note(Attempt{Where: path, Outcome: Failed, Err: err})
		return false, true
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		s.note(Attempt{Where: path, Outcome: Failed, Err: err})
		return false, true
	}
	kind, head, err := sniffFile(f)
	if err != nil {
		s.note(Attempt{Where: path, Outcome: Failed, Err: err})
		return false, true
	}
	switch kind {
	case kindPDB:
		if st.Size() > s.l.opt.MaxSize {
			s.note(Attempt{Where: path, Outcome: Failed, Err: fmt.Errorf("%w: %d bytes", ErrTooLarge, st.Size())})
			return false, true
		}
		p, err := OpenPDB(f, st.Size())
		if err != nil {
			s.noteErr(path, err)
			return false, true
		}
		if !p.Matches(s.id.GUID, s.id.Age) {
			s.note(Attempt{Where: path, Outcome: Mismatch, Got: p.Identity()})
			return false, true
		}
		if len(dst) == 0 {
			s.found(path, p, Attempt{Where: path, Outcome: Found})
			return true, true
		}
		// Copy it down; if that fails the original serves.
		final, _, err := s.place(dst, p, func(w io.Writer) error {
			_, err := io.Copy(w, io.NewSectionReader(f, 0, st.Size()))
			return err
		})
		if err != nil {
			s.found(path, p, Attempt{Where: path, Outcome: Found})
			s.note(Attempt{Where: dst[0], Outcome: Failed, Note: "copying it there", Err: err})
			return true, true
		}
		s.found(final, p, Attempt{Where: path, Outcome: Found, Note: "copied to " + final})
		return true, true
	case kindCab, kindZip:
		return s.expandLocal(path, f, st.Size(), kind, dst), true
	case kindMSFZ:
		s.note(Attempt{Where: path, Outcome: Unsupported, Err: ErrMSFZ})
	default:
		s.note(Attempt{Where: path, Outcome: Failed, Err: notSymbolFile(head)})
	}
	return false, true
}

// expandLocal expands a local compressed file into the first
// destination (or the default cache).
func (s *search) expandLocal(path string, f *os.File, size int64, kind fileKind, dst []string) bool {
	if len(dst) == 0 {
		dc, err := s.l.defaultCache()
		if err != nil {
			s.note(Attempt{Where: path, Outcome: Failed, Note: "nowhere to expand it", Err: err})
			return false
		}
		dst = []string{dc}
	}
	final, p, err := s.place(dst, nil, func(w io.Writer) error {
		return s.expand(f, size, kind, w)
	})
	if err != nil {
		s.noteErr(path, err)
		return false
	}
	s.found(final, p, Attempt{Where: path, Outcome: Found, Note: "expanded to " + final})
	return true
}

// expand writes the file inside the cabinet or ZIP archive r to w.
func (s *search) expand(r io.ReaderAt, size int64, kind fileKind, w io.Writer) error {
	var err error
	if kind == kindZip {
		_, _, err = expandZip(r, size, s.l.opt.MaxSize, w)
	} else {
		_, _, err = expandCab(r, size, s.l.opt.MaxSize, w)
	}
	return err
}

// noteErr records a failure at where, classifying the error.
func (s *search) noteErr(where string, err error) {
	var mm *IdentityMismatchError
	switch {
	case errors.As(err, &mm):
		s.note(Attempt{Where: where, Outcome: Mismatch, Got: mm.Got})
	case errors.Is(err, ErrMSFZ), errors.Is(err, ErrLZX):
		s.note(Attempt{Where: where, Outcome: Unsupported, Err: err})
	default:
		var ue *UnsupportedError
		if errors.As(err, &ue) {
			s.note(Attempt{Where: where, Outcome: Unsupported, Err: err})
			return
		}
		s.note(Attempt{Where: where, Outcome: Failed, Err: err})
	}
}

// found records the PDB used.
func (s *search) found(path string, p *PDB, a Attempt) {
	s.note(a)
	s.res.Path, s.res.PDB, s.res.Source = path, p, s.elem
}

// place writes a PDB into the store dst[0] (in its layout) and copies
// it into the other stores of dst. fill writes the PDB's bytes. When
// verified is nil the written file is loaded and its identity checked
// before it is renamed into place; on any failure nothing is left
// behind in dst[0] (an *IdentityMismatchError reports a mismatch). It
// returns the final path and the PDB. Failures to copy into the
// other stores are recorded as attempts and do not fail place.
func (s *search) place(dst []string, verified *PDB, fill func(io.Writer) error) (string, *PDB, error) {
	st, err := s.stage(dst[0])
	if err != nil {
		return "", nil, err
	}
	tmp, err := st.temp()
	if err != nil {
		st.abort()
		return "", nil, err
	}
	final, p, err := s.commit(st, tmp, verified, fill)
	if err != nil {
		return "", nil, err
	}
	s.copyDown(final, p, dst[1:])
	return final, p, nil
}

// placedFileMode is the mode of the files place puts into stores.
const placedFileMode = 0o644

// commit fills tmp, checks it (unless verified) and renames it into
// place; on failure it aborts the staging.
func (s *search) commit(st *staging, tmp *os.File, verified *PDB, fill func(io.Writer) error) (string, *PDB, error) {
	err := fill(tmp)
	if err == nil {
		err = s.ctx.Err()
	}
	p := verified
	if err == nil && p == nil {
		var size int64
		if size, err = tmp.Seek(0, io.SeekEnd); err == nil {
			p, err = OpenPDB(tmp, size)
			if err == nil {
				err = p.CheckIdentity(s.id.GUID, s.id.Age)
			}
		}
	}
	if err == nil {
		// os.CreateTemp makes the file 0600; a store is shared, so
		// give the PDB the mode an ordinary file gets.
		err = tmp.Chmod(placedFileMode)
	}
	if err == nil {
		err = tmp.Sync()
	}
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		st.abort()
		return "", nil, err
	}
	final := filepath.Join(st.dir, s.name)
	if err := os.Rename(tmp.Name(), final); err != nil {
		st.abort()
		return "", nil, err
	}
	return final, p, nil
}

// copyDown copies the file at src into each store of dst.
func (s *search) copyDown(src string, p *PDB, dst []string) {
	for _, d := range dst {
		err := func() error {
			f, err := os.Open(src)
			if err != nil {
				return err
			}
			defer f.Close()
			st, err := s.stage(d)
			if err != nil {
				return err
			}
			tmp, err := st.temp()
			if err != nil {
				st.abort()
				return err
			}
			_, _, err = s.commit(st, tmp, p, func(w io.Writer) error {
				_, err := io.Copy(w, f)
				return err
			})
			return err
		}()
		if err != nil {
			s.note(Attempt{Where: d, Outcome: Failed, Note: "copying " + src + " there", Err: err})
		}
	}
}

// staging is a store directory being written to: the directories
// created for it and the temporary files in it, removed by abort.
type staging struct {
	dir     string
	created []string // deepest last
	temps   []string
}

// stage creates the directory for the PDB in the store at root.
func (s *search) stage(root string) (*staging, error) {
	dir := storeDir(root, s.name, s.key)
	st := &staging{dir: dir}
	// Remember which levels do not exist yet, so abort can remove them.
	for d := dir; ; d = filepath.Dir(d) {
		if _, err := os.Stat(d); err == nil {
			break
		}
		st.created = append([]string{d}, st.created...)
		if d == filepath.Dir(d) || filepath.Clean(d) == filepath.Clean(root) {
			break
		}
	}
	if err := os.MkdirAll(dir, 0o777); err != nil {
		st.abort()
		return nil, err
	}
	return st, nil
}

// temp creates a temporary file next to the final one. Its name starts
// with a dot and ends in .tmp, so no tool takes it for the PDB.
func (st *staging) temp() (*os.File, error) {
	f, err := os.CreateTemp(st.dir, ".poolprof-*.tmp")
	if errors.Is(err, fs.ErrNotExist) {
		// A concurrent Find that failed removed the directory just
		// after stage saw it.
		if err = os.MkdirAll(st.dir, 0o777); err == nil {
			f, err = os.CreateTemp(st.dir, ".poolprof-*.tmp")
		}
	}
	if err != nil {
		return nil, err
	}
	st.temps = append(st.temps, f.Name())
	return f, nil
}

// abort removes the temporary files and the directories stage created
// (those still empty).
func (st *staging) abort() {
	for _, t := range st.temps {
		os.Remove(t)
	}
	for i := len(st.created) - 1; i >= 0; i-- {
		os.Remove(st.created[i]) // fails, harmlessly, when not empty
	}
}
