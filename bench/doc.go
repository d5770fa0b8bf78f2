// Package bench holds the workload benchmarks BENCHMARKS.md reports: the
// workload used to measure hallgren/eventsourcing, looplab/eventhorizon and
// modernice/goes (one stream per election: request, then confirm), and a
// full program year of 1,000,000 clinicians and 200,000 practices.
//
//	go test ./bench -run '^$' -bench . -benchtime 100000x
//
// It has no non-test code of its own.
package bench
