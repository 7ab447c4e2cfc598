package symbols_test

import (
	"fmt"
	"log"

	"github.com/poolprof/poolprof/symbols"
)

func ExamplePDB_Lookup() {
	p, err := symbols.OpenPDBFile("../testdata/pdb/x64-full.pdb")
	if err != nil {
		log.Fatal(err)
	}
	// Refuse a PDB that does not belong to the image: the GUID and age
	// come from the image's RSDS record (here: x64-full.exe).
	guid, _ := symbols.ParseGUID("A5536410-56CC-CAB8-4C4C-44205044422E")
	if err := p.CheckIdentity(guid, 1); err != nil {
		log.Fatal(err)
	}
	// An address inside a static function, which has no public symbol.
	s, ok := p.Lookup(0x1070)
	fmt.Println(ok, s.Kind)
	fmt.Printf("%s+%#x %s:%d\n", s.Name, s.Offset, s.File, s.Line)
	// Output:
	// true procedure
	// SepCopyTokenBody+0x10 C:\src\src\kern.c:35
}
