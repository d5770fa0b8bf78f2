// Package eventfill fills every exported field of an event type with a
// non-zero value, by reflection, so a test can round-trip every field of
// every registered type through a codec or a store and see a field that
// one of them drops, including a field added after the test was written.
// events/storetest uses it to hold every Store to every field of every
// event type; the events package's tests use it to hold the hand-written
// fast codecs to the general one.
package eventfill
