package esdbstore

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"strings"
	"time"

	"github.com/EventStore/EventStore-Client-Go/v4/esdb"
	"github.com/electionledger/ledger/events"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// How the store keeps client v4.2.0 from panicking or hanging.
//
// An esdb.Client runs a connection state machine on a goroutine, fed by an
// unbuffered channel (esdb/impl.go: getConnectionHandle and handleError
// send on it; connectionStateMachine receives). When discovery fails, the
// state machine returns without closing the channel: any goroutine sending
// to it then blocks forever, and Client.Close closes the channel under it,
// so the sender panics with "send on closed channel". With concurrent
// callers against an unreachable server, both happen.
//
// So the store never lets two goroutines into a client that has not yet
// connected: a new client is probed by one goroutine (GetServerVersion,
// which also gives the version), and every other caller waits for the
// probe's result, honouring its own context. A client whose probe fails,
// or a call on which fails in a way that sends the client rediscovering
// (Unavailable, not-leader), is retired: no new call enters it, a new
// client takes its place, and it is closed only when the last call inside
// it has returned, so Close never races a send. Calls run on goroutines of
// their own, so a caller returns when its context ends or the store
// closes even if the client does not.

// conn is one esdb.Client and the calls inside it.
type conn struct {
	c       *esdb.Client
	ready   chan struct{} // closed when the probe has finished
	err     error         // the probe's outcome, set before ready closes
	version esdb.ServerVersion
	refs    int  // calls inside the client, the probe included (Store.mu)
	retired bool // no new call enters (Store.mu)
	shut    bool // closed (Store.mu)
}

// newConnLocked makes the current client and starts its probe. s.mu is
// held.
func (s *Store) newConnLocked() (*conn, error) {
	c, err := esdb.NewClient(s.cfg)
	if err != nil {
		return nil, fmt.Errorf("esdbstore: %w", err)
	}
	cn := &conn{c: c, ready: make(chan struct{}), refs: 1}
	s.cur = cn
	s.conns[cn] = struct{}{}
	go s.probe(cn)
	return cn, nil
}

// probe connects a new client, alone, and checks the server's version.
func (s *Store) probe(cn *conn) {
	v, err := cn.c.GetServerVersion()
	switch {
	case err != nil:
		err = &ConnectionError{Op: "connect", Attempts: 1, Err: err}
	case !versionOK(*v):
		err = &UnsupportedServerError{Version: *v}
	default:
		cn.version = *v
	}
	cn.err = err
	close(cn.ready)
	if err != nil {
		s.retire(cn)
	}
	s.release(cn)
}

// acquire returns the current client, once it has connected, with a call
// counted inside it; release must follow.
func (s *Store) acquire(ctx context.Context) (*conn, error) {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return nil, events.ErrClosed
	}
	cn := s.cur
	if cn == nil {
		var err error
		if cn, err = s.newConnLocked(); err != nil {
			s.mu.Unlock()
			return nil, err
		}
	}
	cn.refs++
	s.mu.Unlock()
	select {
	case <-cn.ready:
	case <-ctx.Done():
		s.release(cn)
		return nil, ctx.Err()
	case <-s.life.Done():
		s.release(cn)
		return nil, events.ErrClosed
	}
	if cn.err != nil {
		s.release(cn)
		return nil, cn.err
	}
	return cn, nil
}

// release ends a call inside cn, closing cn if it is retired and idle.
func (s *Store) release(cn *conn) {
	s.mu.Lock()
	cn.refs--
	shut := s.shutLocked(cn)
	s.mu.Unlock()
	if shut {
		_ = cn.c.Close()
	}
}

// retire stops new calls from entering cn; it is closed once idle.
func (s *Store) retire(cn *conn) {
	s.mu.Lock()
	cn.retired = true
	if s.cur == cn {
		s.cur = nil
	}
	shut := s.shutLocked(cn)
	s.mu.Unlock()
	if shut {
		_ = cn.c.Close()
	}
}

// shutLocked marks cn closed if it is retired (or the store closed) and
// idle, reporting whether the caller must close its client.
func (s *Store) shutLocked(cn *conn) bool {
	if cn.shut || cn.refs > 0 || !(cn.retired || s.closed) {
		return false
	}
	cn.shut = true
	delete(s.conns, cn)
	if s.closed && len(s.conns) == 0 && s.idle != nil {
		close(s.idle)
		s.idle = nil
	}
	return true
}

// do runs fn with a connected client on a goroutine of its own and
// returns its error, or ctx's when ctx ends first, or ErrClosed when the
// store closes. fn gets a context that ends with either. fn must not
// write anything its caller reads: do may return before fn does.
func (s *Store) do(ctx context.Context, fn func(ctx context.Context, c *esdb.Client) error) error {
	_, err := call(s, ctx, func(ctx context.Context, c *esdb.Client) (struct{}, error) { return struct{}{}, fn(ctx, c) })
	return err
}

// call is do for an fn with a result, which is handed back only when fn
// finishes first: an fn abandoned because ctx ended writes nowhere its
// caller reads.
func call[T any](s *Store, ctx context.Context, fn func(ctx context.Context, c *esdb.Client) (T, error)) (T, error) {
	var zero T
	cn, err := s.acquire(ctx)
	if err != nil {
		return zero, err
	}
	cctx, cancel := context.WithCancel(ctx)
	stop := context.AfterFunc(s.life, cancel)
	defer func() { stop(); cancel() }()
	type result struct {
		v   T
		err error
	}
	done := make(chan result, 1)
	go func() {
		defer s.release(cn)
		v, err := fn(cctx, cn.c)
		if needsNewClient(err) {
			s.retire(cn)
		}
		done <- result{v, err}
	}()
	select {
	case r := <-done:
		if r.err != nil && cctx.Err() != nil {
			return zero, s.ctxErr(ctx)
		}
		return r.v, r.err
	case <-cctx.Done():
		return zero, s.ctxErr(ctx)
	}
}

// ctxErr is the error of a call cut short: ErrClosed if the store closed,
// else ctx's.
func (s *Store) ctxErr(ctx context.Context) error {
	if s.life.Err() != nil {
		return events.ErrClosed
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	return context.Canceled
}

// retryCall runs op through call until it succeeds, fails for good, or
// the attempts run out. Only operations that cannot write are passed here.
func retryCall[T any](s *Store, ctx context.Context, what string, op func(ctx context.Context, c *esdb.Client) (T, error)) (T, error) {
	var zero T
	var err error
	for n := 0; n < s.opts.attempts; n++ {
		if n > 0 {
			if werr := s.wait(ctx, n); werr != nil {
				return zero, werr
			}
		}
		var v T
		if v, err = call(s, ctx, op); err == nil || !transient(err) {
			return v, err
		}
	}
	return zero, &ConnectionError{Op: what, Attempts: s.opts.attempts, Err: err}
}

// wait sleeps the backoff of attempt n, or returns early with ctx's error
// or ErrClosed.
func (s *Store) wait(ctx context.Context, n int) error {
	d := s.opts.backoff << min(n, 6)
	d += time.Duration(rand.Int64N(int64(d)/2 + 1))
	return s.pause(ctx, d)
}

// pause sleeps d, or returns early with ctx's error or ErrClosed.
func (s *Store) pause(ctx context.Context, d time.Duration) error {
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

// transient reports whether err may pass on retry. For an append it also
// means "may or may not have been written".
func transient(err error) bool {
	var ce *ConnectionError
	if errors.As(err, &ce) {
		return true
	}
	if e, ok := esdbError(err); ok {
		switch e.Code() {
		case esdb.ErrorCodeConnectionClosed, esdb.ErrorUnavailable, esdb.ErrorCodeDeadlineExceeded, esdb.ErrorAborted,
			esdb.ErrorCodeNotLeader:
			return true
		case esdb.ErrorCodeUnknown:
			// Transport failures the client does not classify.
			return !isInvalidPosition(err) && grpcCode(err) != codes.InvalidArgument
		}
		return false
	}
	switch grpcCode(err) {
	case codes.Unavailable, codes.DeadlineExceeded, codes.Aborted:
		return true
	}
	return false
}

// needsNewClient reports whether err may have sent the client rediscovering
// (esdb/impl.go, handleError sends a reconnect on Unavailable and on a
// not-leader answer), or left it dead (its discovery failed).
func needsNewClient(err error) bool {
	if e, ok := esdbError(err); ok {
		switch e.Code() {
		case esdb.ErrorCodeConnectionClosed, esdb.ErrorUnavailable, esdb.ErrorCodeNotLeader:
			return true
		}
	}
	return false
}

func esdbError(err error) (*esdb.Error, bool) {
	var e *esdb.Error
	ok := errors.As(err, &e)
	return e, ok
}

func grpcCode(err error) codes.Code {
	for e := err; e != nil; e = errors.Unwrap(e) {
		if st, ok := status.FromError(e); ok && st.Code() != codes.Unknown {
			return st.Code()
		}
	}
	if st, ok := status.FromError(err); ok {
		return st.Code()
	}
	return codes.Unknown
}

func hasCode(err error, code esdb.ErrorCode) bool {
	e, ok := esdbError(err)
	return ok && e.Code() == code
}

// isInvalidPosition recognises the server's refusal of a position inside a
// record: a read answers Unknown "Unexpected ReadAllResult:
// InvalidPosition ...", a subscription InvalidArgument "Trying to read
// from an invalid position." (see esdbfake.Behaviours.StrictPositions).
func isInvalidPosition(err error) bool {
	if err == nil {
		return false
	}
	msg := err.Error()
	return strings.Contains(msg, "InvalidPosition") || strings.Contains(msg, "invalid position")
}
