package symbols_test

import (
	"context"
	"fmt"
	"log"
	"os"
	"path/filepath"

	"github.com/poolprof/poolprof/symbols"
)

func ExampleLocator_Find() {
	// A symbol store with one PDB, and a cache in front of it.
	root, err := os.MkdirTemp("", "symstore-example")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(root)
	guid, _ := symbols.ParseGUID("A5536410-56CC-CAB8-4C4C-44205044422E")
	key := symbols.Identity{GUID: guid, Age: 1}.StoreKey()
	pdb, err := os.ReadFile("../testdata/pdb/x64-full.pdb")
	if err != nil {
		log.Fatal(err)
	}
	dir := filepath.Join(root, "store", "x64-full.pdb", key)
	if err := os.MkdirAll(dir, 0o777); err != nil {
		log.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "x64-full.pdb"), pdb, 0o666); err != nil {
		log.Fatal(err)
	}

	// In real use the path comes from symbols.SymbolPathFromEnv or a
	// flag, e.g. "srv*C:\symbols*https://msdl.microsoft.com/download/symbols".
	path, err := symbols.ParseSymbolPath("srv*" + filepath.Join(root, "cache") + "*" + filepath.Join(root, "store"))
	if err != nil {
		log.Fatal(err)
	}
	l := symbols.NewLocator(path, symbols.Options{Offline: true})
	// The name, GUID and age come from the trace's DbgID_RSDS event.
	res, err := l.Find(context.Background(), symbols.Request{Name: `C:\build\x64-full.pdb`, GUID: guid, Age: 1})
	if err != nil {
		log.Fatal(err)
	}
	rel, _ := filepath.Rel(root, res.Path)
	fmt.Println(key)
	fmt.Println(filepath.ToSlash(rel))
	for _, a := range res.Tried {
		fmt.Println(a.Outcome)
	}
	s, _ := res.PDB.Lookup(0x1070)
	fmt.Println(s)
	// Output:
	// A553641056CCCAB84C4C44205044422E1
	// cache/x64-full.pdb/A553641056CCCAB84C4C44205044422E1/x64-full.pdb
	// not found
	// found
	// SepCopyTokenBody+0x10
}
