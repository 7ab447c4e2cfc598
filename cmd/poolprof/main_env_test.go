package main

import (
	"os"
	"testing"
)

// TestMain clears the symbol path variables, so that a developer's
// _NT_SYMBOL_PATH neither renames frames nor downloads PDBs in tests;
// tests that want symbols pass --symbols.
func TestMain(m *testing.M) {
	os.Unsetenv("_NT_SYMBOL_PATH")
	os.Unsetenv("_NT_ALT_SYMBOL_PATH")
	os.Exit(m.Run())
}
