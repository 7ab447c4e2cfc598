package symbols

import (
	"context"
	"sync"
)

// Resolver names addresses in images by their PDBs. It finds the PDB of
// an image with a Locator the first time the image is asked about (or
// when Load asks for many at once), keeps what it found — and what it
// did not — and answers Lookup from the loaded PDB. An image is known by
// its Request: the PDB name, GUID and age of its CodeView (RSDS) record,
// as a trace's DbgID_RSDS event gives them.
//
// A Resolver is safe for concurrent use. Each image is looked for once:
// concurrent callers asking about the same image wait for the one search.
// A search that ended because its context did so is not kept, so a later
// call looks again.
type Resolver struct {
	loc *Locator

	mu     sync.Mutex
	images map[Request]*resolved
	order  []Request // in order of first request, for Results
}

// resolved is the outcome of one image's search; done is closed when res
// is set.
type resolved struct {
	done chan struct{}
	res  Result
}

// NewResolver returns a Resolver that finds PDBs with loc. A nil loc
// finds nothing: every image is reported not found.
func NewResolver(loc *Locator) *Resolver {
	if loc == nil {
		loc = NewLocator(SymbolPath{}, Options{Offline: true})
	}
	return &Resolver{loc: loc, images: make(map[Request]*resolved)}
}

// Locator returns the Locator the Resolver searches with.
func (r *Resolver) Locator() *Locator { return r.loc }

// claim returns the entries for reqs, creating those not asked for yet;
// mine lists the requests (and their entries) this caller must search.
func (r *Resolver) claim(reqs []Request) (entries []*resolved, mine []Request, mineEntries []*resolved) {
	r.mu.Lock()
	defer r.mu.Unlock()
	entries = make([]*resolved, len(reqs))
	for i, req := range reqs {
		e := r.images[req]
		if e == nil {
			e = &resolved{done: make(chan struct{})}
			r.images[req] = e
			r.order = append(r.order, req)
			mine = append(mine, req)
			mineEntries = append(mineEntries, e)
		}
		entries[i] = e
	}
	return entries, mine, mineEntries
}

// settle records the result of a search. A search cut short by its
// context is forgotten, so that the next request searches again.
func (r *Resolver) settle(ctx context.Context, req Request, e *resolved, res Result) {
	e.res = res
	if res.PDB == nil && ctx.Err() != nil {
		r.mu.Lock()
		if r.images[req] == e {
			delete(r.images, req)
		}
		r.mu.Unlock()
	}
	close(e.done)
}

// Load looks for the PDBs of reqs that have not been looked for yet,
// Options.Workers of them at once (see Locator.FindAll), waits for those
// other callers are looking for, and returns the results in the order of
// reqs. Errors are in Result.Err. Identical requests are served once.
func (r *Resolver) Load(ctx context.Context, reqs []Request) []Result {
	entries, mine, mineEntries := r.claim(reqs)
	if len(mine) > 0 {
		found := r.loc.FindAll(ctx, mine)
		for i, res := range found {
			r.settle(ctx, mine[i], mineEntries[i], res)
		}
	}
	out := make([]Result, len(reqs))
	for i, e := range entries {
		select {
		case <-e.done:
			out[i] = e.res
		case <-ctx.Done():
			out[i] = Result{Request: reqs[i], Err: ctx.Err()}
		}
	}
	return out
}

// Find returns the result of looking for the PDB of req, looking for it
// first if no one has yet.
func (r *Resolver) Find(ctx context.Context, req Request) Result {
	return r.Load(ctx, []Request{req})[0]
}

// PDB returns the PDB of req, looking for it first if no one has yet
// (without a deadline), or nil when none was found.
func (r *Resolver) PDB(req Request) *PDB {
	return r.Find(context.Background(), req).PDB
}

// Lookup returns the symbol at rva, an address relative to the base of
// the image whose PDB req names: PDB.Lookup on the image's PDB, which is
// looked for first if no one has yet. It reports false when the image has
// no PDB or the PDB no symbol there. Once the PDB is loaded, Lookup does
// not allocate.
func (r *Resolver) Lookup(req Request, rva uint32) (Symbol, bool) {
	p := r.cached(req)
	if p == nil {
		p = r.PDB(req)
	}
	if p == nil {
		return Symbol{}, false
	}
	return p.Lookup(rva)
}

// cached returns the PDB of req when its search has ended with one.
func (r *Resolver) cached(req Request) *PDB {
	r.mu.Lock()
	e := r.images[req]
	r.mu.Unlock()
	if e == nil {
		return nil
	}
	select {
	case <-e.done:
		return e.res.PDB
	default:
		return nil
	}
}

// Results returns the results of the searches that have ended, in the
// order the images were first asked about.
func (r *Resolver) Results() []Result {
	r.mu.Lock()
	var es []*resolved
	seen := make(map[Request]bool, len(r.order))
	for _, req := range r.order { // a forgotten search may be listed twice
		if e := r.images[req]; e != nil && !seen[req] {
			seen[req] = true
			es = append(es, e)
		}
	}
	r.mu.Unlock()
	var out []Result
	for _, e := range es {
		select {
		case <-e.done:
			out = append(out, e.res)
		default:
		}
	}
	return out
}
