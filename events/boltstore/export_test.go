package boltstore

// WithStageHook calls fn at each stage of creating a new ledger file, for
// the tests that stop a process there as a crash would.
func WithStageHook(fn func(stage string) error) Option {
	return func(o *options) { o.stageHook = fn }
}

// CreateStages are the stages create passes through, in order.
var CreateStages = []string{"temporary file created", "bbolt header written", "ledger initialized", "linked"}
