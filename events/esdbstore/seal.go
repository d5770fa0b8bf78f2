package esdbstore

import (
	"context"
	"slices"

	"github.com/EventStore/EventStore-Client-Go/v4/esdb"
	"github.com/go-json-experiment/json"
)

// Seals. The store refuses any append after a sealing event (it reads the
// head before every write), but on a server other clients can write too.
// So a seal is also recorded in the stream's metadata: SealedProperty names
// the sealing revision, for operators and other clients, and when the
// connection carries credentials the stream's ACL is narrowed so that only
// the ledger's writer role may write the stream or its metadata and only
// admins may delete it. The metadata is read, changed and written back at
// the revision read, so nothing else in it (other ACL entries, other
// clients' properties) is lost, and a concurrent change is never
// overwritten. Whatever the server still lets through (an admin, an
// --insecure server), verification reports (see ReadAll).

// SealedProperty is the custom stream-metadata property that records the
// revision of the sealing event.
const SealedProperty = "electionledger.sealedAt"

// meta is a stream's latest metadata, as read.
type meta struct {
	raw map[string]any // nil: none
	rev int64          // its revision in the metadata stream; -1: none
}

// readMeta reads a stream's metadata: the latest event of "$$" + stream.
func (s *Store) readMeta(ctx context.Context, stream string) (meta, error) {
	m := meta{rev: -1}
	evs, err := retryCall(s, ctx, "read", func(ctx context.Context, c *esdb.Client) ([]*esdb.RecordedEvent, error) {
		return collect(c.ReadStream(ctx, "$$"+stream, esdb.ReadStreamOptions{Direction: esdb.Backwards, From: esdb.End{},
			Deadline: s.deadline()}, 1))
	})
	if err == nil && len(evs) > 0 {
		m.rev = int64(evs[0].EventNumber)
		if json.Unmarshal(evs[0].Data, &m.raw) != nil {
			m.raw = map[string]any{}
		}
	}
	if hasCode(err, esdb.ErrorCodeResourceNotFound) || hasCode(err, esdb.ErrorCodeStreamDeleted) {
		return meta{rev: -1}, nil
	}
	return m, err
}

// sealedAt returns the revision SealedProperty records.
func sealedAt(raw map[string]any) (uint64, bool) {
	if f, ok := raw[SealedProperty].(float64); ok && f >= 0 {
		return uint64(f), true
	}
	return 0, false
}

// sealACL returns the ACL a sealed stream gets, or nil without
// credentials: the writer role may write the stream and its metadata,
// nobody but admins may delete it; the read entries are kept.
func (s *Store) sealACL() map[string]any {
	if s.cfg.Username == "" || s.opts.writerRole == "" {
		return nil
	}
	return map[string]any{"$w": []any{s.opts.writerRole}, "$d": []any{}, "$mw": []any{s.opts.writerRole}}
}

// sealed returns the metadata m with the seal at rev recorded, and whether
// m already had it.
func (s *Store) sealed(m map[string]any, rev uint64) (map[string]any, bool) {
	out := make(map[string]any, len(m)+2)
	for k, v := range m {
		out[k] = v
	}
	done := true
	if at, ok := sealedAt(m); !ok || at != rev {
		out[SealedProperty] = rev
		done = false
	}
	if want := s.sealACL(); want != nil {
		acl, _ := m["$acl"].(map[string]any)
		merged := make(map[string]any, len(acl)+len(want))
		for k, v := range acl {
			merged[k] = v
		}
		for k, v := range want {
			if !sameRoles(acl[k], v) {
				done = false
			}
			merged[k] = v
		}
		out["$acl"] = merged
	}
	return out, done
}

func sameRoles(have, want any) bool {
	h, ok1 := have.([]any)
	w, ok2 := want.([]any)
	return ok1 && ok2 && slices.Equal(h, w)
}

// seal records a seal at rev in the stream's metadata: it changes the
// metadata m (as read before the append) and writes it back expecting the
// revision read, reading it again after a concurrent change or an
// ambiguous write. A seal that cannot be recorded is a *SealError.
func (s *Store) seal(ctx context.Context, stream string, rev uint64, m meta) error {
	var err error
	for n := 0; n < s.opts.sealRetries; n++ {
		if n > 0 {
			if err := s.wait(ctx, n); err != nil {
				return &SealError{Stream: stream, Revision: rev, Err: err}
			}
			if m, err = s.readMeta(ctx, stream); err != nil {
				if transient(err) {
					continue
				}
				break
			}
		}
		want, done := s.sealed(m.raw, rev)
		if done {
			return nil
		}
		var b []byte
		if b, err = json.Marshal(want, json.Deterministic(true)); err != nil {
			break
		}
		var exp esdb.ExpectedRevision = esdb.NoStream{}
		if m.rev >= 0 {
			exp = esdb.Revision(uint64(m.rev))
		}
		err = s.do(ctx, func(ctx context.Context, c *esdb.Client) error {
			_, err := c.AppendToStream(ctx, "$$"+stream, esdb.AppendToStreamOptions{ExpectedRevision: exp, Deadline: s.deadline()},
				esdb.EventData{EventType: "$metadata", ContentType: esdb.ContentTypeJson, Data: b})
			return err
		})
		if err == nil {
			return nil
		}
		if !hasCode(err, esdb.ErrorCodeWrongExpectedVersion) && !transient(err) {
			break
		}
	}
	return &SealError{Stream: stream, Revision: rev, Err: err}
}

// Sealed reports whether a stream's metadata records a seal, and at which
// revision.
func (s *Store) Sealed(ctx context.Context, stream string) (uint64, bool, error) {
	m, err := s.readMeta(ctx, stream)
	if err != nil {
		return 0, false, err
	}
	rev, ok := sealedAt(m.raw)
	return rev, ok, nil
}

// Metadata returns a stream's metadata as the server holds it (nil when it
// has none): the ledger's seal, its ACL, and whatever else other clients
// set.
func (s *Store) Metadata(ctx context.Context, stream string) (map[string]any, error) {
	m, err := s.readMeta(ctx, stream)
	return m.raw, err
}
