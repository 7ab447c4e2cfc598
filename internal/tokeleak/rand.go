package tokeleak

// rng is the generator's pseudo-random source: SplitMix64, written out here
// so that the example's bytes never depend on the standard library's
// generators, whose derived methods may change between Go releases.
type rng struct{ s uint64 }

func newRNG(seed uint64) *rng { return &rng{s: seed} }

func (r *rng) uint64() uint64 {
	r.s += 0x9e3779b97f4a7c15
	z := r.s
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9
	z = (z ^ (z >> 27)) * 0x94d049bb133111eb
	return z ^ (z >> 31)
}

// intn returns a number in [0, n), n > 0. The modulo bias is irrelevant
// for a test fixture.
func (r *rng) intn(n int) int { return int(r.uint64() % uint64(n)) }

// int63n returns a number in [0, n), n > 0.
func (r *rng) int63n(n int64) int64 { return int64(r.uint64() % uint64(n)) }

// between returns a number in [lo, hi], lo ≤ hi.
func (r *rng) between(lo, hi int64) int64 { return lo + r.int63n(hi-lo+1) }

// percent reports true with probability p/100.
func (r *rng) percent(p int) bool { return r.intn(100) < p }

// pick returns a random element of s.
func pick[T any](r *rng, s []T) T { return s[r.intn(len(s))] }
