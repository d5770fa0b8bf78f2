package esdbstore

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/EventStore/EventStore-Client-Go/v4/esdb"
	"github.com/electionledger/ledger/events"
)

// Store is an events.Store on an EventStoreDB or KurrentDB server. It is
// safe for concurrent use.
type Store struct {
	cfg  *esdb.Configuration
	opts options

	life   context.Context // ends at Close: stops calls and subscriptions
	cancel context.CancelFunc

	slots chan struct{} // one per client serving a call (WithMaxConnections)

	mu      sync.Mutex
	closed  bool
	idle    []*conn            // connected clients no call uses
	open    map[*conn]struct{} // clients not yet closed
	drained chan struct{}      // closed when, after Close, every client is closed
}

type options struct {
	timeout     time.Duration
	attempts    int
	backoff     time.Duration
	now         func() time.Time
	logger      esdb.LoggingFunc
	page        uint64
	writerRole  string
	lazy        bool
	closeGrace  time.Duration
	sealRetries int
	maxConns    int
}

// Option configures Open.
type Option func(*options)

// WithCallTimeout sets the deadline of every call to the server (default
// 10s). Subscriptions have no deadline; a dropped one is resumed.
func WithCallTimeout(d time.Duration) Option { return func(o *options) { o.timeout = d } }

// WithRetries sets how many times a transient failure is retried (default
// 6), with exponential backoff from base (default 50ms).
func WithRetries(n int, base time.Duration) Option {
	return func(o *options) { o.attempts, o.backoff = max(n, 0)+1, base }
}

// WithClock sets the clock that stamps RecordedAt (default time.Now).
func WithClock(now func() time.Time) Option { return func(o *options) { o.now = now } }

// WithLogger passes the client's log lines to fn (default: none; the
// client's own default is noisy).
func WithLogger(fn esdb.LoggingFunc) Option { return func(o *options) { o.logger = fn } }

// WithPageSize sets how many events one read asks the server for
// (default 512).
func WithPageSize(n int) Option { return func(o *options) { o.page = uint64(max(n, 2)) } }

// WithWriterRole names the role (a user or a group) that keeps write
// access to a sealed stream. When the connection string carries
// credentials, sealing sets the stream's ACL so that only this role may
// write it or its metadata, and nobody but admins may delete it. The
// default is the connection's user.
func WithWriterRole(role string) Option { return func(o *options) { o.writerRole = role } }

// WithMaxConnections bounds how many calls run against the server at once
// (default 64), each on a connection of its own; a subscription has one of
// its own besides.
func WithMaxConnections(n int) Option { return func(o *options) { o.maxConns = max(n, 1) } }

// WithLazyConnect makes Open return without contacting the server; the
// first call connects (and checks the server's version).
func WithLazyConnect() Option { return func(o *options) { o.lazy = true } }

// Open parses an esdb://, esdb+discover://, kurrent:// or kurrentdb://
// connection string and connects: a server older than MinServerVersion is
// refused with an *UnsupportedServerError, one that does not answer within
// the call timeout with a *ConnectionError. With WithLazyConnect it does
// not connect.
func Open(connectionString string, opts ...Option) (*Store, error) {
	return OpenContext(context.Background(), connectionString, opts...)
}

// OpenContext is Open with a context bounding the connection.
func OpenContext(ctx context.Context, connectionString string, opts ...Option) (*Store, error) {
	o := options{timeout: 10 * time.Second, attempts: 7, backoff: 50 * time.Millisecond, now: time.Now,
		logger: esdb.NoopLogging(), page: 512, closeGrace: 5 * time.Second, sealRetries: 5, maxConns: 64}
	for _, f := range opts {
		f(&o)
	}
	cs := connectionString
	for _, scheme := range []string{"kurrentdb", "kurrent"} {
		cs = strings.Replace(cs, scheme+"://", "esdb://", 1)
		cs = strings.Replace(cs, scheme+"+discover://", "esdb+discover://", 1)
	}
	if !strings.HasPrefix(cs, "esdb://") && !strings.HasPrefix(cs, "esdb+discover://") {
		return nil, fmt.Errorf("esdbstore: connection string: want esdb://, esdb+discover://, kurrent:// or kurrentdb://")
	}
	cfg, err := esdb.ParseConnectionString(cs)
	if err != nil {
		return nil, fmt.Errorf("esdbstore: connection string: %w", err)
	}
	cfg.Logger = o.logger
	deadline := o.timeout
	cfg.DefaultDeadline = &deadline
	if o.writerRole == "" {
		o.writerRole = cfg.Username
	}
	s := &Store{cfg: cfg, opts: o, open: map[*conn]struct{}{}, slots: make(chan struct{}, o.maxConns)}
	s.life, s.cancel = context.WithCancel(context.Background())
	if o.lazy {
		return s, nil
	}
	cctx, cancel := context.WithTimeout(ctx, o.timeout)
	defer cancel()
	if _, err := s.ServerVersion(cctx); err != nil {
		_ = s.Close()
		if cctx.Err() != nil && ctx.Err() == nil {
			err = &ConnectionError{Op: "connect", Attempts: 1, Err: err}
		}
		return nil, err
	}
	return s, nil
}

var _ events.Store = (*Store)(nil)

// ServerVersion returns the version of the server the store is connected
// to, connecting if need be.
func (s *Store) ServerVersion(ctx context.Context) (esdb.ServerVersion, error) {
	return call(s, ctx, func(_ context.Context, c *esdb.Client) (esdb.ServerVersion, error) {
		v, err := c.GetServerVersion() // known already: the client proved itself
		if err != nil {
			return esdb.ServerVersion{}, err
		}
		return *v, nil
	})
}

func (s *Store) deadline() *time.Duration { d := s.opts.timeout; return &d }

// IDsPerStream implements events.IDScope: the server refuses an event ID
// written before only within one stream.
func (s *Store) IDsPerStream() bool { return true }

// Close ends every call and subscription (which yield ErrClosed) and
// closes the client. It may be called from anywhere, a subscription's loop
// body included, and more than once. It waits a few seconds at most for
// calls already inside the client to return; a client is closed only once
// no call is inside it.
func (s *Store) Close() error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return nil
	}
	s.closed = true
	idle := s.idle
	s.idle = nil
	for _, cn := range idle {
		delete(s.open, cn)
	}
	var drained chan struct{}
	if len(s.open) > 0 {
		drained = make(chan struct{})
		s.drained = drained
	}
	s.mu.Unlock()
	s.cancel()
	for _, cn := range idle {
		_ = cn.c.Close()
	}
	if drained != nil {
		t := time.NewTimer(s.opts.closeGrace)
		defer t.Stop()
		select {
		case <-drained:
		case <-t.C:
		}
	}
	return nil
}

// isClosed reports whether Close was called.
func (s *Store) isClosed() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.closed
}
