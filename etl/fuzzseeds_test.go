package etl_test

import "testing"

// fuzzSeeds returns generated seed files; filled in once etltest exists.
func fuzzSeeds(testing.TB) [][]byte { return nil }
