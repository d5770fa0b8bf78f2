// Package esdbfake is an in-process double of an EventStoreDB / KurrentDB
// server's Streams and ServerFeatures services, written on the generated
// server interfaces that github.com/EventStore/EventStore-Client-Go/v4
// ships. The real client talks to it over a loopback socket (TLS and basic
// authentication with WithTLS), so the esdbstore adapter runs end to end in
// go test with no server installed.
//
// It carries the real server's behaviour, read from the server's source
// (github.com/kurrent-io/KurrentDB; each rule's comment names the file,
// line and method it comes from):
//   - the log: positions are byte offsets of records; each event of a
//     multi-event append has its own position, and the append's reply
//     names the last one; a $all read or subscription from a position
//     inside a record is refused with the server's error
//     (Behaviours.StrictPositions);
//   - idempotency as the index writer checks it: no ID check when the
//     expected revision is the stream's last, a strong check at the
//     following revisions when it is earlier, a weak check in a bounded
//     cache of recent IDs for Any, CorruptedIdempotency, and a dropped
//     reply for a retry of a write not yet committed
//     (Behaviours.ServerIdempotency);
//   - stream metadata in "$$" streams, whose reads return only their
//     latest event; $tb and $maxCount hiding events; a soft delete
//     (Delete) that replaces the metadata with $tb = long.MaxValue, and
//     the undelete an append to such a stream does; tombstones (Tombstone)
//     after which reads and appends fail with StreamDeleted; Scavenge;
//   - access control lists on streams and their metadata, with WithTLS;
//   - the ServerFeatures service and its version (WithVersion).
//
// Faults are switches a test turns on: an append applied but its reply
// lost (DropNextAck); commits held back past the write timeout, after
// which the write commits anyway (StallCommits); not-leader redirects
// (NotLeader); subscriptions dropped mid-stream (DropSubscriptionsAfter);
// and the whole server stopped and started again on the same address
// (Stop, Start). Calls counts the requests the server answered, by kind.
//
// What the double does not carry: clusters and replication (one node,
// always the leader, except when NotLeader redirects to itself), explicit
// transactions, $maxAge, projections and persistent subscriptions,
// backwards and filtered $all reads, stream subscriptions, and the
// server's resource limits.
//
// Citations. Every file:line in this package's comments, and in
// esdbstore's, refers to kurrent-io/KurrentDB at commit
// 44996ed0576221c14adb8abfdc34cedee3e19362 (2026-07-24, v26.2.0-alpha.1-30),
// its paths relative to src/KurrentDB.Core/ unless they start otherwise;
// paths starting esdb/ refer to EventStore/EventStore-Client-Go at tag
// v4.2.0 (commit 8206ac84067e5a6d591f71fafb82758015fb9f3c), the client
// version go.mod requires. Line numbers drift as the server changes: read
// a citation at that commit.
package esdbfake
