// Command peers runs the same election workload on this library and on the
// best-known Go event-sourcing libraries, side by side, and prints a ratio
// table: for each workload, the fastest peer's time per operation divided by
// ours (above 1: we are faster).
//
//	go -C bench/peers run .                  # full size, six interleaved rounds
//	go -C bench/peers run . -size tiny       # a few hundred operations (CI)
//	go -C bench/peers run . -h               # the flags
//
// The peers, at exact versions (bench/peers is a module of its own, so the
// library's importers never download them):
//
//   - github.com/hallgren/eventsourcing v0.8.0, with its in-memory event
//     store, its aggregate package and its projections;
//   - github.com/looplab/eventhorizon v0.16.0, with its in-memory event
//     store, its aggregate store and its aggregate command handler;
//   - github.com/modernice/goes v0.5.0, with its in-memory event store, its
//     aggregate repository, its codec registry and its projection package.
//
// hallgren's bbolt event store is a module of its own that the Go module proxy
// does not serve, so the durable workload compares against a stand-in
// (standin.go) that writes each record the way that store does: one bbolt
// transaction per append, with fsync, the record JSON-encoded into the
// stream's bucket and the global-order bucket. The other two peers have no
// file store; their durable rows are empty.
//
// # Rounds
//
// Machines are noisy. Every round runs every workload on every side, one
// after another, in an order that rotates from round to round, so whatever
// else the machine is doing hits all sides alike; the table gives the median
// of the rounds and the spread of the per-round ratios. Progress goes to
// standard error, the table to standard output (Markdown, as BENCHMARKS.md
// shows it).
//
// # The same work on every side
//
// Every side encodes the events it appends inside the timed loop, with its
// own codec (ours: events.Registry.Encode; hallgren: json v2, set with its
// SetEventEncoder, as its default encoding/json writes our TIN type masked
// and could not read its events back; eventhorizon: codec/json; goes:
// codec.Registry). The
// in-memory stores of eventhorizon and goes keep Go values, so they decode
// nothing when read (ours and hallgren's decode JSON): the table says so
// where it matters. Each row's note names the rest of what differs.
//
// A peer whose cost grows with its store (goes' in-memory store copies its
// whole index on every insert and scans every event on every query) may not
// finish a workload within the -budget; it then reports the time per
// operation of the operations it did, marked "≥" as a lower bound.
package main
