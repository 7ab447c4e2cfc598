package tokeleak

// PDB identities of the images whose PDBs are committed as fixtures:
// the DbgID_RSDS events of the example carry them, so that a symbol path
// holding testdata/pdb (a plain folder) names the frames of ntkrnlmp.exe
// and contosec.sys module!function. The GUIDs and ages are those of the
// fixtures, as symbols.OpenPDBFile reads them (GUID from the PDB info
// stream, age from the DBI stream); testdata/pdb/build.sh builds the
// fixtures from sources generated from Functions, and a test in package
// symbols checks that they still match. A rebuild after a change of
// sources or flags changes the GUIDs: update them here and regenerate
// the example (testdata/example/README.md).
const (
	// NtkrnlmpPDBGUID and NtkrnlmpPDBAge are the identity of
	// testdata/pdb/ntkrnlmp.pdb (ntkrnlmp.exe, the kernel).
	NtkrnlmpPDBGUID = "26c67e5b-b87f-2fdf-4c4c-44205044422e"
	NtkrnlmpPDBAge  = 1
	// ContosecPDBGUID and ContosecPDBAge are the identity of
	// testdata/pdb/contosec.pdb (contosec.sys, the leaking driver).
	ContosecPDBGUID = "e588791e-cb3b-65d8-4c4c-44205044422e"
	ContosecPDBAge  = 1
)
