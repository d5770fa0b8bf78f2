//go:build !race

package boltstore_test

// raceDetector says the tests run under the race detector, which slows
// the exhaustive ones tenfold: they then sample fewer cases.
const raceDetector = false
