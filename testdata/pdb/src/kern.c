/*
 * kern.c: a tiny kernel-shaped C file for the PDB fixtures in
 * testdata/pdb. Nothing here runs; it only has to compile and link.
 * The tests look up the lines marked "@name" below by that marker, so
 * markers may move with the code; rebuild with build.sh after an edit.
 */
#if defined(_M_IX86)
#define NTAPI __stdcall
#define FASTCALL __fastcall
#else
#define NTAPI
#define FASTCALL
#endif
#define NOINLINE __declspec(noinline)

typedef unsigned int ULONG;

int PoolCount;          /* global data: S_GDATA32 and a public */
static int TokenSerial; /* static data: S_LDATA32, no public */
static char PoolArena[256];

NOINLINE void *NTAPI ExAllocatePoolWithTag(int PoolType, ULONG NumberOfBytes, ULONG Tag)
{
	PoolCount += PoolType + (int)Tag; /* @alloc.body */
	if (NumberOfBytes > sizeof PoolArena)
		return 0;
	return &PoolArena[NumberOfBytes & 7];
}

/* A static function: a procedure in the module stream, no public. */
static NOINLINE int SepCopyTokenBody(volatile int *Dst, const volatile int *Src, int Count)
{ /* @copy.open */
	int i;
	for (i = 0; i < Count; i++) {
		Dst[i] = Src[i] ^ TokenSerial; /* @copy.loop */
		TokenSerial += 3;
	}
	return Count;
}

NOINLINE int FASTCALL SepDuplicateToken(int *Token)
{ /* @dup.open */
	int copy[8];
	int n = SepCopyTokenBody(copy, Token, 8); /* @dup.call */
	return n + copy[3] + PoolCount;
}

NOINLINE int NTAPI NtDuplicateToken(int *Token, ULONG Flags)
{
	if (Flags & 1)
		return -1;
	return SepDuplicateToken(Token);
} /* @ntdup.close */

extern int SepCachedLookup(int Key);

void KiSystemStartup(void)
{
	int token[8] = {1, 2, 3, 4, 5, 6, 7, 8}; /* @start.token */
	ExAllocatePoolWithTag(1, 16, 0x6c6f6f50);
	NtDuplicateToken(token, 0);
	SepCachedLookup(PoolCount);
}
