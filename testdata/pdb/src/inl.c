/*
 * inl.c: inline frames for the PDB fixtures in testdata/pdb. Built at
 * -O2 so that clang inlines the __forceinline helpers: Hash is inlined
 * into Mix, which is inlined into Outer (two levels), and Bump is
 * inlined at two call sites of Outer. Tests find lines by "@name"
 * markers; rebuild with build.sh after an edit.
 */
#define NOINLINE __declspec(noinline)
#define INLINE static __forceinline

volatile int Sink;

INLINE int Hash(int x)
{
	Sink = x * 31; /* @hash.body */
	return x ^ (x >> 3); /* @hash.ret */
}

INLINE int Mix(int a, int b)
{
	int h = Hash(a + b); /* @mix.call */
	Sink = h + b;        /* @mix.body */
	return h * 7; /* @mix.ret */
}

INLINE void Bump(int n)
{
	Sink += n; /* @bump.body */
}

NOINLINE int Outer(int a, int b)
{
	int r;
	Bump(a);       /* @outer.bump1 */
	r = Mix(a, b); /* @outer.mix */
	Bump(r);       /* @outer.bump2 */
	return r + 1; /* @outer.ret */
}

void KiSystemStartup(void) { Sink = Outer(Sink, 2); } /* @start */
