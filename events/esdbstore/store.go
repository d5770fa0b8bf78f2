package esdbstore

import (
	"context"
	"errors"
	"fmt"
	"io"
	"iter"
	"math/rand/v2"
	"strings"
	"sync"
	"time"

	"github.com/EventStore/EventStore-Client-Go/v4/esdb"
	"github.com/electionledger/ledger/events"
	"github.com/go-json-experiment/json"
	"github.com/google/uuid"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// Store is an events.Store on an EventStoreDB or KurrentDB server. It is
// safe for concurrent use.
type Store struct {
	cfg  *esdb.Configuration
	opts options

	mu     sync.Mutex
	client *esdb.Client
	closed bool

	life   context.Context // ends at Close: stops subscriptions
	cancel context.CancelFunc
	subs   sync.WaitGroup
}

type options struct {
	timeout  time.Duration
	attempts int
	backoff  time.Duration
	now      func() time.Time
	logger   esdb.LoggingFunc
	page     uint64
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

// Open parses an esdb://, esdb+discover://, kurrent:// or kurrentdb://
// connection string
// and returns a store. It does not connect: the first call does.
func Open(connectionString string, opts ...Option) (*Store, error) {
	o := options{timeout: 10 * time.Second, attempts: 7, backoff: 50 * time.Millisecond, now: time.Now,
		logger: esdb.NoopLogging(), page: 512}
	for _, f := range opts {
		f(&o)
	}
	cs := connectionString
	for _, scheme := range []string{"kurrentdb", "kurrent"} {
		cs = strings.Replace(cs, scheme+"://", "esdb://", 1)
		cs = strings.Replace(cs, scheme+"+discover://", "esdb+discover://", 1)
	}
	cfg, err := esdb.ParseConnectionString(cs)
	if err != nil {
		return nil, fmt.Errorf("esdbstore: connection string: %w", err)
	}
	cfg.Logger = o.logger
	deadline := o.timeout
	cfg.DefaultDeadline = &deadline
	s := &Store{cfg: cfg, opts: o}
	s.life, s.cancel = context.WithCancel(context.Background())
	if s.client, err = esdb.NewClient(cfg); err != nil {
		return nil, fmt.Errorf("esdbstore: %w", err)
	}
	return s, nil
}

var _ events.Store = (*Store)(nil)

// current returns the live client.
func (s *Store) current() (*esdb.Client, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return nil, events.ErrClosed
	}
	return s.client, nil
}

// rebuild replaces a client that died (its first connection failed, or
// discovery gave up after a drop): such a client never recovers by itself.
func (s *Store) rebuild(dead *esdb.Client) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed || s.client != dead {
		return
	}
	if c, err := esdb.NewClient(s.cfg); err == nil {
		_ = dead.Close()
		s.client = c
	}
}

// transient reports whether err may pass on retry, and whether the client
// must be rebuilt first.
func transient(err error) (retry, rebuild bool) {
	var e *esdb.Error
	if !errors.As(err, &e) {
		// Some client paths return the gRPC status itself.
		if st, ok := status.FromError(err); ok && st != nil {
			switch st.Code() {
			case codes.Unavailable, codes.DeadlineExceeded, codes.Aborted:
				return true, false
			}
		}
		return false, false
	}
	switch e.Code() {
	case esdb.ErrorCodeConnectionClosed:
		return true, true
	case esdb.ErrorUnavailable, esdb.ErrorCodeDeadlineExceeded, esdb.ErrorAborted, esdb.ErrorCodeNotLeader:
		return true, false
	}
	return false, false
}

// wait sleeps the backoff of attempt n, or returns ctx's error.
func (s *Store) wait(ctx context.Context, n int) error {
	d := s.opts.backoff << min(n, 6)
	d += time.Duration(rand.Int64N(int64(d)/2 + 1))
	select {
	case <-time.After(d):
		return nil
	case <-ctx.Done():
		return ctx.Err()
	case <-s.life.Done():
		return events.ErrClosed
	}
}

// retry runs op until it succeeds, fails for good, or the attempts run out.
// Only operations that cannot write twice are passed here.
func (s *Store) retry(ctx context.Context, op func(c *esdb.Client) error) error {
	var err error
	for n := 0; n < s.opts.attempts; n++ {
		if n > 0 {
			if werr := s.wait(ctx, n); werr != nil {
				return werr
			}
		}
		c, cerr := s.current()
		if cerr != nil {
			return cerr
		}
		if err = op(c); err == nil {
			return nil
		}
		if cerr := ctx.Err(); cerr != nil {
			return cerr
		}
		retry, rebuild := transient(err)
		if !retry {
			return err
		}
		if rebuild {
			s.rebuild(c)
		}
	}
	return fmt.Errorf("esdbstore: gave up after %d attempts: %w", s.opts.attempts, err)
}

func (s *Store) deadline() *time.Duration { d := s.opts.timeout; return &d }

// envelope is the ledger's event metadata as stored in EventStoreDB's
// custom metadata: readable JSON, holding everything the hash chain covers
// besides the payload.
type envelope struct {
	Ledger        int                `json:"ledger"` // format marker: 1
	SchemaVersion int                `json:"schemaVersion"`
	Revision      uint64             `json:"revision"`
	RecordedAt    time.Time          `json:"recordedAt"`
	PrevHash      events.Hash        `json:"prevHash"`
	Hash          events.Hash        `json:"hash"`
	Actor         string             `json:"actor,omitzero"`
	ActorRole     events.ActorRole   `json:"actorRole,omitzero"`
	Organization  string             `json:"organization,omitzero"`
	OnBehalfOf    events.Participant `json:"onBehalfOf,omitzero"`
	AttestedAt    time.Time          `json:"attestedAt,omitzero"`
	CommandID     uuid.UUID          `json:"commandId,omitzero"`
	CausationID   uuid.UUID          `json:"causationId,omitzero"`
	CorrelationID uuid.UUID          `json:"correlationId,omitzero"`
}

func toESDB(r *events.Record) (esdb.EventData, error) {
	m := &r.Metadata
	md, err := json.Marshal(envelope{Ledger: 1, SchemaVersion: r.SchemaVersion, Revision: r.Revision, RecordedAt: r.RecordedAt,
		PrevHash: r.PrevHash, Hash: r.Hash, Actor: m.Actor, ActorRole: m.ActorRole, Organization: m.Organization,
		OnBehalfOf: m.OnBehalfOf, AttestedAt: m.AttestedAt, CommandID: m.CommandID, CausationID: m.CausationID,
		CorrelationID: m.CorrelationID})
	if err != nil {
		return esdb.EventData{}, err
	}
	return esdb.EventData{EventID: r.ID, EventType: r.Type, ContentType: esdb.ContentTypeJson, Data: r.Data, Metadata: md}, nil
}

// errNotLedger marks an event that the ledger did not write.
var errNotLedger = errors.New("not a ledger event")

func fromESDB(e *esdb.RecordedEvent) (events.Record, error) {
	var env envelope
	if err := json.Unmarshal(e.UserMetadata, &env); err != nil || env.Ledger != 1 {
		return events.Record{}, errNotLedger
	}
	r := events.Record{ID: e.EventID, Stream: e.StreamID, Revision: e.EventNumber, Position: events.Position(e.Position.Commit),
		RecordedAt: env.RecordedAt.UTC(), Type: e.EventType, SchemaVersion: env.SchemaVersion, Data: e.Data,
		Metadata: events.Metadata{Actor: env.Actor, ActorRole: env.ActorRole, Organization: env.Organization,
			OnBehalfOf: env.OnBehalfOf, AttestedAt: env.AttestedAt, CommandID: env.CommandID, CausationID: env.CausationID,
			CorrelationID: env.CorrelationID},
		PrevHash: env.PrevHash, Hash: env.Hash}
	if !env.AttestedAt.IsZero() {
		r.Metadata.AttestedAt = env.AttestedAt.UTC()
	}
	if env.Revision != e.EventNumber {
		return r, &events.ChainError{Stream: e.StreamID, Revision: e.EventNumber, Problem: fmt.Sprintf("the envelope says revision %d", env.Revision)}
	}
	return r, nil
}

// tail reads the last n records of a stream, newest first; nil if the
// stream has none.
func (s *Store) tail(ctx context.Context, stream string, n uint64) ([]events.Record, error) {
	var out []events.Record
	err := s.retry(ctx, func(c *esdb.Client) error {
		out = out[:0]
		rs, err := c.ReadStream(ctx, stream, esdb.ReadStreamOptions{Direction: esdb.Backwards, From: esdb.End{}, Deadline: s.deadline()}, n)
		if err != nil {
			return err
		}
		err = drain(rs, func(ev *esdb.ResolvedEvent) error {
			r, err := streamRecord(stream, ev)
			out = append(out, r)
			return err
		})
		if isNotFound(err) {
			out = nil
			return nil
		}
		return err
	})
	return out, err
}

// drain passes every event of a read to fn, then closes it.
func drain(rs *esdb.ReadStream, fn func(*esdb.ResolvedEvent) error) error {
	defer rs.Close()
	for {
		ev, err := rs.Recv()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return err
		}
		if err := fn(ev); err != nil {
			return err
		}
	}
}

// streamRecord converts an event read from a ledger stream.
func streamRecord(stream string, ev *esdb.ResolvedEvent) (events.Record, error) {
	r, err := fromESDB(ev.Event)
	if err != nil {
		return r, &events.ChainError{Stream: stream, Revision: ev.Event.EventNumber, Problem: "unreadable ledger envelope", Err: err}
	}
	return r, nil
}

func isNotFound(err error) bool {
	var e *esdb.Error
	return errors.As(err, &e) && e.Code() == esdb.ErrorCodeResourceNotFound
}

func isWrongExpected(err error) bool {
	var e *esdb.Error
	return errors.As(err, &e) && e.Code() == esdb.ErrorCodeWrongExpectedVersion
}

// Append implements events.Store. It reads the stream's head, applies the
// ledger's rules (idempotency, seal, expected revision), computes the hash
// chain, and appends at exactly the head it read, so two writers can never
// fork a chain. If the server's answer is lost or another writer got there
// first, it reads the head again: its own events, already written, are
// recognised by their IDs and answered with the original result, so a retry
// never writes twice.
func (s *Store) Append(ctx context.Context, stream string, expected events.ExpectedRevision, evs ...events.EventData) (events.AppendResult, error) {
	if err := events.ValidateAppend(stream, expected, evs); err != nil {
		return events.AppendResult{}, err
	}
	if err := ctx.Err(); err != nil {
		return events.AppendResult{}, err
	}
	if _, err := s.current(); err != nil {
		return events.AppendResult{}, err
	}
	var lastErr error
	for n := 0; n < s.opts.attempts; n++ {
		if n > 0 {
			if err := s.wait(ctx, n); err != nil {
				return events.AppendResult{}, err
			}
		}
		tail, err := s.tail(ctx, stream, uint64(len(evs))+16)
		if err != nil {
			return events.AppendResult{}, err
		}
		if res, done, err := idempotent(stream, tail, evs); done {
			if err == nil && events.Seals(evs[len(evs)-1].Type) {
				s.recordSeal(ctx, stream, res.Revision) // the first attempt's answer was lost
			}
			return res, err
		}
		exists := len(tail) > 0
		var last uint64
		var prev events.Hash
		if exists {
			head := tail[0]
			last, prev = head.Revision, head.Hash
			if events.Seals(head.Type) {
				return events.AppendResult{}, &events.StreamSealedError{Stream: stream, SealedAt: last}
			}
		}
		if err := expected.Require(stream, last, exists); err != nil {
			return events.AppendResult{}, err
		}
		now := s.opts.now()
		data := make([]esdb.EventData, len(evs))
		recs := make([]events.Record, len(evs))
		rev := uint64(0)
		if exists {
			rev = last + 1
		}
		for i := range evs {
			recs[i] = events.NewRecord(stream, rev+uint64(i), now, prev, evs[i])
			prev = recs[i].Hash
			if data[i], err = toESDB(&recs[i]); err != nil {
				return events.AppendResult{}, err
			}
		}
		var exp esdb.ExpectedRevision = esdb.NoStream{}
		if exists {
			exp = esdb.Revision(last)
		}
		c, err := s.current()
		if err != nil {
			return events.AppendResult{}, err
		}
		wr, err := c.AppendToStream(ctx, stream, esdb.AppendToStreamOptions{ExpectedRevision: exp, Deadline: s.deadline()}, data...)
		if err == nil {
			res := events.AppendResult{Revision: recs[len(recs)-1].Revision, Position: events.Position(wr.CommitPosition), Hash: recs[len(recs)-1].Hash}
			if len(recs) > 1 {
				// The write result names the write's position; read back
				// the last event's own.
				if t, terr := s.tail(ctx, stream, 1); terr == nil && len(t) == 1 && t[0].ID == recs[len(recs)-1].ID {
					res.Position = t[0].Position
				}
			}
			if events.Seals(recs[len(recs)-1].Type) {
				s.recordSeal(ctx, stream, res.Revision)
			}
			return res, nil
		}
		if cerr := ctx.Err(); cerr != nil {
			return events.AppendResult{}, cerr
		}
		lastErr = err
		if isWrongExpected(err) {
			continue // the head moved (maybe by this very append): read it again
		}
		retry, rebuild := transient(err)
		if !retry {
			return events.AppendResult{}, fmt.Errorf("esdbstore: append to %s: %w", stream, err)
		}
		if rebuild {
			s.rebuild(c)
		}
	}
	return events.AppendResult{}, fmt.Errorf("esdbstore: append to %s: gave up after %d attempts: %w", stream, s.opts.attempts, lastErr)
}

// idempotent recognises an append whose events the stream already holds.
func idempotent(stream string, tail []events.Record, evs []events.EventData) (events.AppendResult, bool, error) {
	at := -1
	for i := range tail {
		if tail[i].ID == evs[0].ID {
			at = i
		}
	}
	if at < 0 {
		for i := range tail {
			for k := 1; k < len(evs); k++ {
				if tail[i].ID == evs[k].ID {
					return events.AppendResult{}, true, &events.DuplicateEventError{Stream: stream, ID: evs[k].ID, Reason: "the ID was already written"}
				}
			}
		}
		return events.AppendResult{}, false, nil
	}
	// tail is newest first: evs[k] must be at tail[at-k].
	for k := range evs {
		i := at - k
		if i < 0 {
			return events.AppendResult{}, true, &events.DuplicateEventError{Stream: stream, ID: evs[k].ID, Reason: "the append repeats earlier events and adds new ones"}
		}
		if !tail[i].SameContent(&evs[k]) {
			return events.AppendResult{}, true, &events.DuplicateEventError{Stream: stream, ID: evs[k].ID, Reason: "the ID was already written with other content"}
		}
	}
	r := tail[at-len(evs)+1]
	return events.AppendResult{Revision: r.Revision, Position: r.Position, Hash: r.Hash}, true, nil
}

// SealedProperty is the custom stream-metadata property that records the
// revision of the sealing event, for operators and other clients. The store
// enforces the seal itself, from the stream's last event.
const SealedProperty = "electionledger.sealedAt"

func (s *Store) recordSeal(ctx context.Context, stream string, rev uint64) {
	var md esdb.StreamMetadata
	md.AddCustomProperty(SealedProperty, rev)
	_ = s.retry(context.WithoutCancel(ctx), func(c *esdb.Client) error {
		_, err := c.SetStreamMetadata(ctx, stream, esdb.AppendToStreamOptions{ExpectedRevision: esdb.Any{}, Deadline: s.deadline()}, md)
		return err
	})
}

// Sealed reports whether a stream's metadata records a seal, and at which
// revision.
func (s *Store) Sealed(ctx context.Context, stream string) (uint64, bool, error) {
	var rev uint64
	var ok bool
	err := s.retry(ctx, func(c *esdb.Client) error {
		md, err := c.GetStreamMetadata(ctx, stream, esdb.ReadStreamOptions{Deadline: s.deadline()})
		if err != nil {
			if isNotFound(err) {
				return nil
			}
			return err
		}
		switch v := md.CustomProperty(SealedProperty).(type) {
		case float64:
			rev, ok = uint64(v), true
		case uint64:
			rev, ok = v, true
		}
		return nil
	})
	return rev, ok, err
}

// ReadStream implements events.Store.
func (s *Store) ReadStream(ctx context.Context, stream string, from uint64) iter.Seq2[events.Record, error] {
	return func(yield func(events.Record, error) bool) {
		next, first := from, true
		for {
			var page []events.Record
			notFound := false
			err := s.retry(ctx, func(c *esdb.Client) error {
				page = page[:0]
				rs, err := c.ReadStream(ctx, stream, esdb.ReadStreamOptions{From: esdb.Revision(next), Deadline: s.deadline()}, s.opts.page)
				if err != nil {
					return err
				}
				err = drain(rs, func(ev *esdb.ResolvedEvent) error {
					r, err := streamRecord(stream, ev)
					page = append(page, r)
					return err
				})
				if isNotFound(err) {
					notFound = true
					return nil
				}
				return err
			})
			if err != nil {
				yield(events.Record{}, s.closedOr(err))
				return
			}
			if notFound {
				if first {
					yield(events.Record{}, &events.StreamNotFoundError{Stream: stream})
				}
				return
			}
			first = false
			for _, r := range page {
				if !yield(r, nil) {
					return
				}
				next = r.Revision + 1
			}
			if uint64(len(page)) < s.opts.page {
				return
			}
		}
	}
}

func (s *Store) closedOr(err error) error {
	if _, cerr := s.current(); cerr != nil {
		return cerr
	}
	return err
}

// ReadAll implements events.Store. Events the ledger did not write (system
// streams, other applications') are skipped.
func (s *Store) ReadAll(ctx context.Context, from events.Position) iter.Seq2[events.Record, error] {
	return func(yield func(events.Record, error) bool) {
		next := uint64(from)
		for {
			var page []events.Record
			read := 0
			var lastPos uint64
			err := s.retry(ctx, func(c *esdb.Client) error {
				page, read = page[:0], 0
				rs, err := c.ReadAll(ctx, esdb.ReadAllOptions{From: esdb.Position{Commit: next, Prepare: next}, Deadline: s.deadline()}, s.opts.page)
				if err != nil {
					return err
				}
				return drain(rs, func(ev *esdb.ResolvedEvent) error {
					read++
					lastPos = ev.Event.Position.Commit
					r, ok, err := s.ledgerRecord(ev)
					if ok && err == nil {
						page = append(page, r)
					}
					return err
				})
			})
			if err != nil {
				yield(events.Record{}, s.closedOr(err))
				return
			}
			for _, r := range page {
				if !yield(r, nil) {
					return
				}
			}
			if uint64(read) < s.opts.page {
				return
			}
			next = lastPos + 1
		}
	}
}

// ledgerRecord converts an event read from $all, telling apart events the
// ledger did not write.
func (s *Store) ledgerRecord(ev *esdb.ResolvedEvent) (events.Record, bool, error) {
	e := ev.Event
	if e == nil || strings.HasPrefix(e.StreamID, "$") || strings.HasPrefix(e.EventType, "$") {
		return events.Record{}, false, nil
	}
	r, err := fromESDB(e)
	if errors.Is(err, errNotLedger) {
		return events.Record{}, false, nil
	}
	return r, true, err
}

// Subscribe implements events.Store: a catch-up subscription to $all,
// filtered on the stream prefixes by the server, that resubscribes by
// itself from the last delivered position after a drop, so that no record
// is missed or repeated.
func (s *Store) Subscribe(ctx context.Context, from events.Position, f events.Filter) iter.Seq2[events.Record, error] {
	return func(yield func(events.Record, error) bool) {
		if _, err := s.current(); err != nil {
			yield(events.Record{}, err)
			return
		}
		s.subs.Add(1)
		defer s.subs.Done()
		ctx, cancel := context.WithCancel(ctx)
		defer cancel()
		stop := context.AfterFunc(s.life, cancel)
		defer stop()
		next := uint64(from)
		drops := 0
		for {
			if err := ctx.Err(); err != nil {
				yield(events.Record{}, s.closedOr(err))
				return
			}
			c, err := s.current()
			if err != nil {
				yield(events.Record{}, err)
				return
			}
			opts := esdb.SubscribeToAllOptions{From: esdb.Start{}, Filter: esdb.ExcludeSystemEventsFilter()}
			if next > 0 {
				opts.From = esdb.Position{Commit: next - 1, Prepare: next - 1} // delivers what comes after
			}
			if len(f.StreamPrefixes) > 0 {
				opts.Filter = &esdb.SubscriptionFilter{Type: esdb.StreamFilterType, Prefixes: f.StreamPrefixes}
			}
			sub, err := c.SubscribeToAll(ctx, opts)
			if err != nil {
				if ctx.Err() != nil {
					continue
				}
				retry, rebuild := transient(err)
				if !retry && drops > 3 {
					yield(events.Record{}, err)
					return
				}
				if rebuild {
					s.rebuild(c)
				}
				drops++
				if werr := s.wait(ctx, drops); werr != nil {
					continue
				}
				continue
			}
			dropped := func() bool {
				defer sub.Close()
				for {
					msg := sub.Recv()
					switch {
					case msg.SubscriptionDropped != nil:
						return true
					case msg.EventAppeared != nil:
						r, ok, err := s.ledgerRecord(msg.EventAppeared)
						if err != nil {
							yield(events.Record{}, err)
							return false
						}
						if !ok || uint64(r.Position) < next || !f.Accepts(r.Stream) {
							continue
						}
						drops = 0
						if !yield(r, nil) {
							return false
						}
						next = uint64(r.Position) + 1
					}
				}
			}()
			if !dropped {
				return
			}
			drops++
			if ctx.Err() == nil {
				_ = s.wait(ctx, min(drops, 4))
			}
		}
	}
}

// Close closes the client and ends every subscription (which yields
// ErrClosed). Close is idempotent.
func (s *Store) Close() error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return nil
	}
	s.closed = true
	c := s.client
	s.mu.Unlock()
	s.cancel()
	s.subs.Wait()
	return c.Close()
}
