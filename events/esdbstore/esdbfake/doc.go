// Package esdbfake is an in-process double of the EventStoreDB / KurrentDB
// gRPC Streams service, written on the generated server interfaces that
// github.com/EventStore/EventStore-Client-Go/v4 ships. The real client talks
// to it over a loopback socket, so the esdbstore adapter runs end to end in
// go test with no server installed.
//
// It implements what the adapter uses: appends with expected revisions and
// EventStoreDB's idempotency (the same event IDs appended again are
// acknowledged without being written twice), stream reads forwards and
// backwards, $all reads from a position, catch-up subscriptions to $all
// with stream-prefix filters, and stream metadata (appends to "$$stream").
// Event positions are spaced and not contiguous, as a real server's are.
//
// Faults can be injected: an append applied but its acknowledgement lost
// (DropNextAck), a subscription dropped mid-stream (DropSubscriptionsAfter),
// and the whole server stopped and started again on the same address.
package esdbfake
