// Package electiontest makes election scenarios short to write: a
// deterministic clock and UUID source, participant and determination
// builders, given/when/then specifications of the pure decider, and a
// Harness that wires a Service over an in-memory store in one line.
package electiontest
