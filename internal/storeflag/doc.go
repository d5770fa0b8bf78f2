// Package storeflag opens the store an example's -store flag names:
// "memory", a file path (the embedded bbolt store), an EventStoreDB /
// KurrentDB connection string (esdb://, kurrentdb://), or a PostgreSQL URL
// (postgres://, postgresql://; the ledger_schema parameter names the
// schema).
package storeflag
