package pgstore

import "context"

// Test hooks, exported to this package's tests only.

// WithBeforeCommit runs f inside each append's transaction, after its
// inserts and before its commit: a test delays commits with it so that
// transactions commit out of the order they took their IDs in.
func WithBeforeCommit(f func(ctx context.Context)) Option {
	return func(o *options) { o.beforeCommit = f }
}

// WithoutStoreChecks leaves the seal and expected-revision checks to the
// database's insert guard, to show it refuses alone.
func WithoutStoreChecks() Option { return func(o *options) { o.skipChecks = true } }

// SealingTypes are the types the insert guard treats as sealing.
var SealingTypes = sealingTypes

// PositionShift is how many low bits of a position index the transaction.
const PositionShift = positionShift
