package boltstore

// WithStageHook calls fn at each stage of creating a new ledger file, for
// the tests that stop a process there as a crash would.
func WithStageHook(fn func(stage string) error) Option {
	return func(o *options) { o.stageHook = fn }
}

// CreateStages are the stages create passes through, in order.
var CreateStages = []string{"temporary file created", "bbolt header written", "ledger initialized", "linked"}

// UpgradeStages are the stages an upgrade passes through: after each
// batch of records is copied and committed (repeated), and inside the
// switch's transaction before it commits.
var UpgradeStages = []string{"upgrade: records copied", "upgrade: switched"}

// WithUpgradeBatch sets how many records one upgrade transaction copies.
func WithUpgradeBatch(n int) Option { return func(o *options) { o.upgradeBatch = n } }

// WithHandOff has every append handed to the writer goroutine, even one
// with no group to join (which the store otherwise commits in the caller's
// goroutine), so that the tests cover the group-commit path alone.
func WithHandOff() Option { return func(o *options) { o.handOff = true } }

// WithCommitHook calls fn before each commit, with the write lock held:
// whether the appending goroutine commits its own append (direct) and how
// many appends the commit takes.
func WithCommitHook(fn func(direct bool, appends int)) Option {
	return func(o *options) { o.commitHook = fn }
}

// Queued returns how many appends wait for the writer goroutine.
func (s *Store) Queued() int64 { return s.queued.Load() }
