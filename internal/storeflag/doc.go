// Package storeflag opens the store an example's -store flag names:
// "memory", a file path (the embedded bbolt store), or an EventStoreDB /
// KurrentDB connection string (esdb://, kurrentdb://).
package storeflag
