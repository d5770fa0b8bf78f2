// Package pgtest gives tests a PostgreSQL server and a schema of their own.
//
// The server is the one ELECTIONLEDGER_PG_URL names, e.g.
// postgres://postgres@127.0.0.1:5432/postgres. Without it a test is skipped
// with a message, unless ELECTIONLEDGER_CI is set (as .ci/run sets it):
// then a missing server fails the test, so CI can never pass by skipping.
// Each test gets a schema of its own, dropped when it ends, so tests and
// test packages running at once never see each other's records; a package
// whose TestMain calls Main also runs in a database of its own, so other
// packages' transactions never hold up its readers.
//
//	func TestMain(m *testing.M) { pgtest.Main(m) } // its own database; without a server: skip (in CI: fail)
//
//	func TestSomething(t *testing.T) {
//		s := pgtest.Open(t) // a pgstore.Store on a schema of t's own, closed and dropped after
//		...
//	}
package pgtest
