package pgstore

import (
	"context"
	"errors"
	"io"
	"net"
	"sync"
	"time"

	"github.com/electionledger/ledger/events"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
)

// waker wakes every waiting subscriber of this process at once: a channel
// closed and replaced on each broadcast.
type waker struct {
	mu sync.Mutex
	ch chan struct{}
}

func (w *waker) init() { w.ch = make(chan struct{}) }

// wait returns the channel the next broadcast closes.
func (w *waker) wait() <-chan struct{} {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.ch
}

// broadcast wakes everyone waiting.
func (w *waker) broadcast() {
	w.mu.Lock()
	defer w.mu.Unlock()
	close(w.ch)
	w.ch = make(chan struct{})
}

// appended tells this process's subscribers at once, and other processes
// through the notifier, that an append committed.
func (s *Store) appended() {
	s.wake.broadcast()
	select {
	case s.notify <- true:
	default: // a notification is already due; it covers this append too
	}
}

// notifyGap is the least time between two NOTIFYs from one store: the
// appends of that time share one.
const notifyGap = 5 * time.Millisecond

// notifier sends one NOTIFY per burst of appends, outside their
// transactions, at most one per notifyGap. A NOTIFY inside an appending
// transaction would make PostgreSQL serialize every such commit, fsync
// included, on its notification queue lock, and give up group commit.
// Sent afterwards, in a statement of its own, it still gets a transaction
// ID and a commit record, so it asks for no flush (a wake-up needs no
// durability) and it is shared by the appends of a few milliseconds. A
// notification is only a wake-up: subscribers read what is new themselves,
// and poll when none comes.
func (s *Store) notifier() {
	defer s.helper.Done()
	gap := time.NewTimer(0)
	defer gap.Stop()
	for {
		select {
		case <-s.life.Done():
			return
		case <-s.notify:
		}
		ctx, cancel := context.WithTimeout(s.life, 5*time.Second)
		_, _ = s.pool.Exec(ctx, `SELECT set_config('synchronous_commit', 'off', true), pg_notify($1, '')`, s.schema)
		cancel()
		gap.Reset(notifyGap)
		select {
		case <-s.life.Done():
			return
		case <-gap.C:
		}
	}
}

// listen starts, once, the listener that wakes this process's subscribers
// on other processes' appends, and the poll ticker. It fails with
// ErrClosed after Close.
func (s *Store) listen() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return events.ErrClosed
	}
	if !s.listening {
		s.listening = true
		s.helper.Add(2)
		go s.listener()
		go s.pollTicker()
	}
	return nil
}

// listener holds a connection of its own LISTENing on the schema's channel
// and broadcasts every notification. When the connection drops it wakes
// everyone (notifications may have been missed; they re-read from where
// they are), then reconnects with backoff.
func (s *Store) listener() {
	defer s.helper.Done()
	for n := 0; s.life.Err() == nil; {
		conn, err := pgx.ConnectConfig(s.life, s.connConfig)
		if err == nil {
			_, err = conn.Exec(s.life, "LISTEN "+pgx.Identifier{s.schema}.Sanitize())
		}
		if err == nil {
			n = 0
			s.wake.broadcast() // anything committed while we were not listening
			for err == nil {
				_, err = conn.WaitForNotification(s.life)
				if err == nil {
					s.wake.broadcast()
				}
			}
		}
		if conn != nil {
			closeCtx, cancel := context.WithTimeout(context.Background(), time.Second)
			_ = conn.Close(closeCtx)
			cancel()
		}
		if s.life.Err() != nil {
			return
		}
		s.wake.broadcast()
		if s.sleep(s.life, n) != nil {
			return
		}
		n++
	}
}

// pollTicker wakes this process's subscribers every poll interval, the
// fallback when no notification comes.
func (s *Store) pollTicker() {
	defer s.helper.Done()
	t := time.NewTicker(s.opts.poll)
	defer t.Stop()
	for {
		select {
		case <-s.life.Done():
			return
		case <-t.C:
			s.wake.broadcast()
		}
	}
}

// isNetwork reports whether err came from the connection rather than the
// server: a reset, a closed socket, an unexpected EOF.
func isNetwork(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) || errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) ||
		errors.Is(err, net.ErrClosed) || errors.Is(err, pgconn.ErrConnClosed)
}

// after returns a channel closed after d, or at Close.
func (s *Store) after(d time.Duration) <-chan struct{} {
	ch := make(chan struct{})
	go func() {
		t := time.NewTimer(d)
		defer t.Stop()
		select {
		case <-t.C:
		case <-s.life.Done():
		}
		close(ch)
	}()
	return ch
}
