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
// unbuffered channel (client v4.2.0: made at esdb/endpoint.go:75;
// esdb/impl.go:84-98, getConnectionHandle, and :36-82, handleError, send on
// it; :194-285, connectionStateMachine, receives). When a discovery fails
// (the first connection, or the rediscovery that an Unavailable error
// triggers on the next call, impl.go:73-79 and :253-257), the state machine
// returns without closing the channel (impl.go:215-226): every other
// goroutine then sending to it (a call starting, a call failing) blocks
// forever, and Client.Close closes the channel under it (esdb/client.go:40-41;
// impl.go:100-105), so that sender panics with "send on closed channel". With concurrent
// callers against a server that is down, or going down, both happen.
//
// So no two goroutines are ever inside one client. Each call checks a
// client out of a pool, uses it alone and checks it back in; a discovery
// that fails can then only fail the one call that started it. A client
// that failed in a way that leaves it rediscovering or dead (Unavailable,
// its connection closed) is closed on check-in (no one is inside it), not
// reused. A new client is first connected by its call alone
// (GetServerVersion, which also checks the server's version). Calls run on
// goroutines of their own, so a caller returns when its context ends or
// the store closes, whatever the client does. At most WithMaxConnections
// clients serve calls at once; a subscription holds a client of its own
// for as long as it runs.

// conn is one esdb.Client, used by one call at a time.
type conn struct {
	c       *esdb.Client
	proven  bool // connected, and the server's version checked
	version esdb.ServerVersion
}

// checkout returns a client for one call: an idle one, or a new one. A
// capped call first waits for one of the WithMaxConnections slots.
func (s *Store) checkout(ctx context.Context, capped bool) (*conn, error) {
	if capped {
		select {
		case s.slots <- struct{}{}:
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-s.life.Done():
			return nil, events.ErrClosed
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		if capped {
			<-s.slots
		}
		return nil, events.ErrClosed
	}
	if n := len(s.idle); n > 0 {
		cn := s.idle[n-1]
		s.idle = s.idle[:n-1]
		return cn, nil
	}
	c, err := esdb.NewClient(s.cfg)
	if err != nil {
		if capped {
			<-s.slots
		}
		return nil, fmt.Errorf("esdbstore: %w", err)
	}
	cn := &conn{c: c}
	s.open[cn] = struct{}{}
	return cn, nil
}

// prove connects a new client (it is the only goroutine inside it) and
// checks the server's version.
func (cn *conn) prove() error {
	if cn.proven {
		return nil
	}
	v, err := cn.c.GetServerVersion()
	switch {
	case err != nil:
		return &ConnectionError{Op: "connect", Attempts: 1, Err: err}
	case !versionOK(*v):
		return &UnsupportedServerError{Version: *v}
	}
	cn.proven, cn.version = true, *v
	return nil
}

// checkin ends a call on cn: the client goes back to the pool (which keeps
// as many as may serve calls at once), or is closed if the call left it
// unfit, the pool is full, or the store closed.
func (s *Store) checkin(cn *conn, capped bool, err error) {
	unfit := !cn.proven || needsNewClient(err)
	s.mu.Lock()
	keep := !s.closed && !unfit && len(s.idle) < s.opts.maxConns
	if keep {
		s.idle = append(s.idle, cn)
	} else {
		delete(s.open, cn)
		if s.closed && len(s.open) == 0 && s.drained != nil {
			close(s.drained)
			s.drained = nil
		}
	}
	s.mu.Unlock()
	if capped {
		<-s.slots
	}
	if !keep {
		_ = cn.c.Close()
	}
}

// do runs fn with a client of its own on a goroutine of its own and
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
	return callOn(s, ctx, true, fn)
}

// callOn is call, on a capped client (one of the WithMaxConnections) or
// not (a subscription's).
func callOn[T any](s *Store, ctx context.Context, capped bool, fn func(ctx context.Context, c *esdb.Client) (T, error)) (T, error) {
	var zero T
	cn, err := s.checkout(ctx, capped)
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
		var r result
		if r.err = cn.prove(); r.err == nil {
			r.v, r.err = fn(cctx, cn.c)
		}
		s.checkin(cn, capped, r.err)
		done <- r
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

// needsNewClient reports whether err left the client rediscovering
// (esdb/impl.go:73-79, handleError sends a reconnect without an endpoint
// on Unavailable) or dead (its discovery failed, impl.go:215-226). A
// not-leader answer leaves it reconnected to the leader the answer named
// (impl.go:39-62 and :259-283): it is kept.
func needsNewClient(err error) bool {
	if e, ok := esdbError(err); ok {
		switch e.Code() {
		case esdb.ErrorCodeConnectionClosed, esdb.ErrorUnavailable:
			return true
		}
	}
	var ce *ConnectionError
	return errors.As(err, &ce)
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
