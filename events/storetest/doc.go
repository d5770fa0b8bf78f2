// Package storetest is the conformance suite every events.Store passes: the
// in-memory, file and EventStoreDB stores run it, and so can a store of your
// own, with one call from a test:
//
//	func TestConformance(t *testing.T) {
//		storetest.Run(t, func(t testing.TB) events.Store { return mystore.New() })
//	}
//
// Each subtest gets a fresh store from the factory and closes it when done.
// Run the suite under -race: several subtests exist to catch data races.
package storetest
