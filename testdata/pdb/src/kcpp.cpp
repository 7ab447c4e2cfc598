// kcpp.cpp: C++ part of the PDB fixtures in testdata/pdb: decorated
// public names (?Lookup@TokenCache@Se@@SAHH@Z) next to qualified
// procedure names (Se::TokenCache::Lookup), overloads, and an
// anonymous-namespace function that has no public. The tests look up
// the lines marked "@name" by that marker.
#define NOINLINE __declspec(noinline)

namespace Se {

class TokenCache {
public:
	static int Lookup(int Key);
	static int Hits;
};

int TokenCache::Hits;

NOINLINE int TokenCache::Lookup(int Key)
{
	Hits++; // @lookup.body
	return Key * 7 + Hits;
}

NOINLINE int Hash(int Key) { return Key * 31 + 1; } // @hash.int

NOINLINE int Hash(const char *Key)
{
	int h = 0;
	while (*Key)
		h = h * 31 + *Key++; // @hash.str.loop
	return h;
}

} // namespace Se

namespace {
NOINLINE int Mix(int Key) { return (Key << 5) ^ (Key >> 3); } // @mix
} // namespace

extern "C" NOINLINE int SepCachedLookup(int Key)
{ // @cached.open
	return Se::TokenCache::Lookup(Key) + Se::Hash(Key) + Se::Hash("tok") + Mix(Key);
}
