package pgstore

import (
	"context"
	"errors"
	"fmt"
	"hash/fnv"
	"math/rand/v2"
	"net/url"
	"runtime"
	"sync"
	"time"

	"github.com/electionledger/ledger/events"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
)

// Store is an events.Store in a PostgreSQL database. It is safe for
// concurrent use, and any number of processes may open the same schema.
type Store struct {
	pool         *pgxpool.Pool
	connConfig   *pgx.ConnConfig // for the listener's own connection
	schema       string
	schemaQuoted string
	sql          statements
	lockSeed     int64 // seeds the streams' advisory lock keys: the schema's hash
	opts         options

	mu        sync.RWMutex
	closed    bool
	listening bool

	life   context.Context // ends at Close: stops reads, subscriptions and the helpers
	cancel context.CancelFunc
	heads  heads          // streams' last records, for the fast append
	wake   waker          // wakes this process's subscribers
	notify chan bool      // asks the notifier to NOTIFY other processes
	helper sync.WaitGroup // the notifier, listener and poll ticker
}

type options struct {
	schema    string
	schemaSet bool
	now       func() time.Time
	poll      time.Duration
	attempts  int
	backoff   time.Duration
	maxConns  int32
	noFast    bool
	// hooks for this package's tests
	beforeCommit func(ctx context.Context) // runs inside the append's transaction, after its inserts
	skipChecks   bool                      // leave the seal and revision checks to the database
}

// Option configures Open.
type Option func(*options)

// WithSchema sets the PostgreSQL schema that holds the ledger (default
// DefaultSchema). Several ledgers can share a database in schemas of their
// own; each is created and migrated on first Open.
func WithSchema(name string) Option { return func(o *options) { o.schema, o.schemaSet = name, true } }

// WithClock sets the clock that stamps RecordedAt (default time.Now). The
// store keeps microseconds, PostgreSQL's precision, so the stamp is
// truncated to the microsecond before the record is hashed.
func WithClock(now func() time.Time) Option { return func(o *options) { o.now = now } }

// WithPollInterval sets how often a live subscription polls when no
// notification wakes it (default 1s): the fallback for lost notifications
// and for rows another client inserted without notifying.
func WithPollInterval(d time.Duration) Option {
	return func(o *options) {
		if d > 0 {
			o.poll = d
		}
	}
}

// WithRetries sets how many times an operation is retried after a
// transient failure (a dropped connection, a server restart, a conflict
// only a retry resolves), with exponential backoff from base. Default: 6
// retries from 20ms. Appends are retried safely: a retry of an append that
// landed is recognised by its event IDs and returns the original result.
func WithRetries(n int, base time.Duration) Option {
	return func(o *options) { o.attempts, o.backoff = max(n, 0)+1, max(base, time.Millisecond) }
}

// WithoutFastAppend turns off the fast append (see the package
// documentation): every append then reads the stream's head under its lock
// first. The two paths give the same results; the fast one saves a round
// trip and three statements when the store can tell the head.
func WithoutFastAppend() Option { return func(o *options) { o.noFast = true } }

// WithMaxConns sets the connection pool's size. Default: the URL's
// pool_max_conns if it names one, else 4 per processor, at least 16, so
// that many concurrent writers share PostgreSQL's group commit.
func WithMaxConns(n int) Option { return func(o *options) { o.maxConns = int32(max(n, 1)) } }

// Open connects to the database at connString (a postgres:// or
// postgresql:// URL, or a libpq key=value string), creates or migrates the
// ledger's schema to SchemaVersion, and returns the store. A schema newer
// than this package is refused with ErrSchemaTooNew.
//
// A URL may name the schema in its ledger_schema parameter, e.g.
// postgres://ledger@db.example/ledger?ledger_schema=mips2024, so that one
// string (a -store flag) says where the ledger is; the parameter goes no
// further than this package. WithSchema naming another schema is an
// error.
func Open(ctx context.Context, connString string, opts ...Option) (*Store, error) {
	o := options{schema: DefaultSchema, now: time.Now, poll: time.Second, attempts: 7, backoff: 20 * time.Millisecond}
	for _, f := range opts {
		f(&o)
	}
	connString, fromURL, err := cutSchemaParam(connString)
	if err != nil {
		return nil, err
	}
	if fromURL != "" {
		if o.schemaSet && o.schema != fromURL {
			return nil, fmt.Errorf("%w: the URL names schema %q and WithSchema %q; name one", ErrInvalidSchemaName, fromURL, o.schema)
		}
		o.schema = fromURL
	}
	if err := validateSchemaName(o.schema); err != nil {
		return nil, err
	}
	cfg, err := pgxpool.ParseConfig(connString)
	if err != nil {
		return nil, fmt.Errorf("pgstore: connection string: %w", err)
	}
	switch m := cfg.ConnConfig.DefaultQueryExecMode; m {
	case pgx.QueryExecModeSimpleProtocol, pgx.QueryExecModeExec:
		// pgx returns text rows in these modes, whatever the query asks for.
		return nil, fmt.Errorf("%w: default_query_exec_mode=%v; the store reads rows in binary: use the default "+
			"(cache_statement), cache_describe, or behind a transaction-pooling proxy describe_exec", ErrQueryMode, m)
	}
	switch {
	case o.maxConns > 0:
		cfg.MaxConns = o.maxConns
	case !namesPoolSize(connString):
		cfg.MaxConns = int32(max(16, 4*runtime.GOMAXPROCS(0)))
	}
	if cfg.ConnConfig.RuntimeParams == nil {
		cfg.ConnConfig.RuntimeParams = map[string]string{}
	}
	if cfg.ConnConfig.RuntimeParams["application_name"] == "" {
		cfg.ConnConfig.RuntimeParams["application_name"] = "electionledger"
	}
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("pgstore: %w", err)
	}
	s := &Store{
		pool: pool, connConfig: cfg.ConnConfig.Copy(), schema: o.schema,
		schemaQuoted: pgx.Identifier{o.schema}.Sanitize(), opts: o,
		notify: make(chan bool, 1),
	}
	s.sql = newStatements(s.schemaQuoted)
	seed := fnv.New64a()
	seed.Write([]byte(s.schema))
	s.lockSeed = int64(seed.Sum64())
	s.wake.init()
	s.life, s.cancel = context.WithCancel(context.Background())
	if err := s.migrate(ctx); err != nil {
		s.cancel()
		pool.Close()
		return nil, err
	}
	s.helper.Add(1)
	go s.notifier()
	return s, nil
}

// ErrQueryMode is returned by Open for a query mode in which pgx returns
// rows in text form.
var ErrQueryMode = errors.New("pgstore: unsupported query mode")

// SchemaParam is the URL query parameter that names the ledger's schema.
const SchemaParam = "ledger_schema"

// cutSchemaParam takes the ledger_schema parameter out of a URL.
func cutSchemaParam(connString string) (string, string, error) {
	u, err := url.Parse(connString)
	if err != nil || (u.Scheme != "postgres" && u.Scheme != "postgresql") || !u.Query().Has(SchemaParam) {
		return connString, "", nil
	}
	q := u.Query()
	schema := q.Get(SchemaParam)
	if schema == "" {
		return "", "", fmt.Errorf("%w: the URL's %s parameter is empty; name a schema or leave it out", ErrInvalidSchemaName, SchemaParam)
	}
	q.Del(SchemaParam)
	u.RawQuery = q.Encode()
	return u.String(), schema, nil
}

// namesPoolSize reports whether a connection string sets pool_max_conns.
func namesPoolSize(connString string) bool {
	if u, err := url.Parse(connString); err == nil && u.Scheme != "" {
		return u.Query().Has("pool_max_conns")
	}
	return false
}

var _ events.Store = (*Store)(nil)

// Schema returns the PostgreSQL schema that holds the ledger.
func (s *Store) Schema() string { return s.schema }

// checkOpen fails with ErrClosed after Close.
func (s *Store) checkOpen() error {
	if s.isClosed() {
		return events.ErrClosed
	}
	return nil
}

// isClosed reports whether Close has begun.
func (s *Store) isClosed() bool {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.closed
}

// Close implements events.Store. It ends every read and subscription
// (subscribers yield ErrClosed), lets appends in flight finish, and closes
// the pool. Close is idempotent.
func (s *Store) Close() error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return nil
	}
	s.closed = true
	s.mu.Unlock()
	s.cancel()
	s.wake.broadcast()
	s.helper.Wait()
	s.pool.Close() // waits for connections in use: appends in flight finish
	return nil
}

// withLife returns ctx that also ends when the store closes.
func (s *Store) withLife(ctx context.Context) (context.Context, context.CancelFunc) {
	ctx, cancel := context.WithCancel(ctx)
	stop := context.AfterFunc(s.life, cancel)
	return ctx, func() { stop(); cancel() }
}

// lifeErr turns a failure caused by the caller's ctx into ctx's error and
// one caused by Close into ErrClosed. ctx is the caller's, not one derived
// with withLife.
func (s *Store) lifeErr(ctx context.Context, err error) error {
	if cerr := ctx.Err(); cerr != nil {
		return cerr
	}
	if s.life.Err() != nil {
		return events.ErrClosed
	}
	return err
}

// transient reports whether err is a failure a retry may get past: a lost
// or refused connection, a server shutting down or restarting, or a
// serialization failure or deadlock.
func transient(err error) bool {
	if err == nil || errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return false
	}
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		switch pe.Code {
		case "40001", "40P01", // serialization_failure, deadlock_detected
			"57P01", "57P02", "57P03", // admin_shutdown, crash_shutdown, cannot_connect_now
			"08000", "08003", "08006", "08001", "08004": // connection exceptions
			return true
		}
		return false
	}
	// Anything else below the SQL level (a reset connection, EOF, a dial
	// refused while the server restarts) is the network.
	var ce *pgconn.ConnectError
	return pgconn.SafeToRetry(err) || errors.As(err, &ce) || isNetwork(err)
}

// sleep waits the backoff of retry n, or returns why it cannot.
func (s *Store) sleep(ctx context.Context, n int) error {
	d := s.opts.backoff << min(n, 7)
	d += time.Duration(rand.Int64N(int64(d)/2 + 1))
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	case <-s.life.Done():
		return events.ErrClosed
	}
}
