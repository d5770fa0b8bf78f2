package boltstore

import (
	"bytes"
	"context"
	"encoding/binary"
	"fmt"

	"github.com/electionledger/ledger/events"
	"github.com/electionledger/ledger/events/chain"
	"github.com/electionledger/ledger/events/storekit"
	bolt "go.etcd.io/bbolt"
)

// AuditReport is what Audit found in a ledger file.
type AuditReport struct {
	Records  int // records walked through the stream index
	Streams  int // streams in the stream index
	Findings []*chain.Finding
	Omitted  int // findings beyond the first 10,000
}

func (r *AuditReport) add(f *chain.Finding) {
	if len(r.Findings) < 10_000 {
		r.Findings = append(r.Findings, f)
		return
	}
	r.Omitted++
}

// Verify audits the file (see Audit) and returns its first finding as the
// error: a *chain.Finding, which for a hash-chain violation unwraps to the
// *events.ChainError naming the stream and revision.
func (s *Store) Verify(ctx context.Context) (chain.ChainsReport, error) {
	rep, err := s.Audit(ctx, nil)
	if rep == nil {
		return chain.ChainsReport{}, err
	}
	vr := chain.ChainsReport{Records: rep.Records, Streams: rep.Streams}
	if err != nil {
		return vr, err
	}
	if len(rep.Findings) > 0 {
		return vr, rep.Findings[0]
	}
	return vr, nil
}

// Audit checks the file's own structures against its log and reports every
// finding rather than the first:
//   - every stream, walked through the stream index, so that a damaged
//     record is reported where it truly sits (not where its damaged bytes
//     claim to be): each record's hash chain, and nothing after a seal;
//   - the log: positions from 0 with no gap, and no record outside every
//     stream: each is the one the stream index names for its stream and
//     revision;
//   - each stream's head (its last revision, sealed flag and last hash:
//     what appends trust to chain and to refuse appends after a
//     confirmation), read as appends read it, against the stream's last
//     record: in format 3 from the stream index and the record its last
//     entry names, in formats 1 and 2 from the heads bucket (and there no
//     head without a stream);
//   - the event-ID index (what idempotent appends trust) against the log;
//   - the stored Merkle tree against the tree of the log's records, hash by
//     hash: in format 3 the hashes each record's log value keeps after it,
//     in format 2 the tree bucket.
//
// Payload bindings, checkpoints and the ledger's rules are chain.Verify's
// and the projections' to check. Run Audit on a file no one is appending
// to (opened ReadOnly, say): it reads the file in several transactions.
// progress, when set, is called with the records walked, about every
// 100,000.
func (s *Store) Audit(ctx context.Context, progress func(records int)) (*AuditReport, error) {
	rep := &AuditReport{}
	if err := s.auditStreams(ctx, rep, progress); err != nil {
		return rep, err
	}
	tree, err := s.auditLog(ctx, rep)
	if err != nil {
		return rep, err
	}
	if err := s.auditIDs(ctx, rep); err != nil {
		return rep, err
	}
	fs, err := chain.CompareStored(ctx, s, tree)
	if err != nil {
		return rep, err
	}
	for _, f := range fs {
		rep.add(f)
	}
	return rep, nil
}

// auditPage is how many entries one audit transaction reads.
const auditPage = 4096

// streamEnd is the last record seen of a stream, for the check of its head.
type streamEnd struct {
	stream string
	rev    uint64
	hash   events.Hash
	sealed bool
}

// pages walks a bucket's entries in key order, auditPage of them per read
// transaction (so a long audit never holds one transaction), calling fn
// with each, and done in the transaction that reads the last of them.
func (s *Store) pages(ctx context.Context, bucket string, fn func(tx *bolt.Tx, k, v []byte), done func(tx *bolt.Tx)) error {
	var after []byte // resume key
	for {
		if err := ctx.Err(); err != nil {
			return err
		}
		if s.isClosed() {
			return events.ErrClosed
		}
		n := 0
		err := s.view(func(tx *bolt.Tx) error {
			c := tx.Bucket([]byte(bucket)).Cursor()
			k, v := c.First()
			if after != nil {
				k, v = c.Seek(after)
				if k != nil && bytes.Equal(k, after) {
					k, v = c.Next()
				}
			}
			for ; k != nil && n < auditPage; k, v = c.Next() {
				n++
				after = append(after[:0], k...)
				fn(tx, k, v)
			}
			if n < auditPage && done != nil {
				done(tx)
			}
			return nil
		})
		if err != nil || n < auditPage {
			return err
		}
	}
}

// auditStreams walks the stream index: chains, then each stream's head.
func (s *Store) auditStreams(ctx context.Context, rep *AuditReport, progress func(int)) error {
	var end streamEnd
	var cv chain.StreamVerifier
	heads, stored := 0, false
	err := s.pages(ctx, bIndex, func(tx *bolt.Tx, k, v []byte) {
		if len(k) < 9 || k[len(k)-9] != 0 || len(v) != 8 {
			rep.add(chainFinding(chain.KindIndex, "?", 0, 0, "a malformed stream-index entry", ErrCorrupt))
			return
		}
		stream := string(k[:len(k)-9])
		rev := binary.BigEndian.Uint64(k[len(k)-8:])
		pos := events.Position(binary.BigEndian.Uint64(v))
		if stream != end.stream {
			if end.stream != "" {
				s.checkHead(rep, tx, &end)
			}
			end, cv = streamEnd{stream: stream}, chain.StreamVerifier{}
			rep.Streams++
		}
		val, ok := s.layout.record(uint64(pos), tx.Bucket([]byte(bLog)).Get(v))
		if !ok {
			rep.add(chainFinding(chain.KindIndex, stream, rev, pos, "the stream index names a record missing from the log (or cut short)", ErrCorrupt))
			return
		}
		r, err := storekit.DecodeStored(stream, rev, bytes.Clone(val))
		if err == nil {
			r.Position = pos
			err = cv.Check(&r)
		}
		if err != nil {
			f := chain.FromError(err, int64(pos))
			f.Position = pos
			rep.add(f)
			if r.Stream == "" {
				return // undecodable: nothing to take as the stream's end
			}
		}
		end.rev, end.hash, end.sealed = r.Revision, r.Hash, events.Seals(r.Type)
		rep.Records++
		if progress != nil && rep.Records%100_000 == 0 {
			progress(rep.Records)
		}
	}, func(tx *bolt.Tx) {
		if end.stream != "" {
			s.checkHead(rep, tx, &end)
		}
		heads, stored = s.layout.storedHeads(tx)
	})
	if err != nil {
		return err
	}
	if stored && heads != rep.Streams {
		rep.add(chainFinding(chain.KindIndex, "?", 0, 0, fmt.Sprintf("%d stream heads for %d streams in the stream index", heads, rep.Streams), ErrCorrupt))
	}
	return nil
}

// checkHead compares a stream's head, as appends read it (stored in
// formats 1 and 2, read from the stream index and the log in format 3),
// with the stream's last record.
func (s *Store) checkHead(rep *AuditReport, tx *bolt.Tx, end *streamEnd) {
	bad := func(problem string) {
		rep.add(chainFinding(chain.KindIndex, end.stream, end.rev, 0, problem, ErrCorrupt))
	}
	h, err := s.layout.head(tx, end.stream)
	switch {
	case err != nil:
		bad(fmt.Sprintf("the stream's head cannot be read: %v", err))
	case !h.exists:
		bad("the stream has no head: an append would start it again at revision 0")
	case h.last != end.rev:
		bad(fmt.Sprintf("the stream's head says its last revision is %d", h.last))
	case h.sealed != end.sealed:
		if end.sealed {
			bad("the stream ends with a confirmation but its head is not sealed: an append after the confirmation would be taken")
		} else {
			bad("the stream's head is sealed but its last record does not seal it")
		}
	case h.hash != end.hash:
		bad("the stream's head holds another last hash than its last record's")
	}
}

// auditLog walks the log in position order: no gap, every record in some
// stream (by count), and the tree of its records.
func (s *Store) auditLog(ctx context.Context, rep *AuditReport) (*chain.Tree, error) {
	tree := &chain.Tree{}
	err := s.pages(ctx, bLog, func(tx *bolt.Tx, k, v []byte) {
		if len(k) != 8 {
			rep.add(chainFinding(chain.KindIndex, "?", 0, 0, "a malformed log key", ErrCorrupt))
			return
		}
		pos := binary.BigEndian.Uint64(k)
		if pos != uint64(tree.Size()) {
			rep.add(chain.LogFinding(chain.KindIndex, ErrCorrupt, "the log skips from position %d to %d: records were deleted", tree.Size(), pos))
		}
		var h events.Hash
		if rec, ok := s.layout.record(pos, v); ok {
			copy(h[:], rec[len(rec)-len(h):])
			checkIndexed(rep, tx, pos, rec)
		}
		tree.Append(chain.LeafHash(h))
	}, nil)
	if err != nil {
		return nil, err
	}
	if int(tree.Size()) != rep.Records {
		rep.add(chain.LogFinding(chain.KindIndex, ErrCorrupt, "the log holds %d records, its streams %d", tree.Size(), rep.Records))
	}
	return tree, nil
}

// checkIndexed checks that the stream index names the record at pos (rec,
// its stored form) for its stream and revision, and the event-ID index for
// its event ID: a record the stream index does not name (its entry
// deleted, or redirected to another record) is left out of its stream as
// ReadStream and appends see it, and a confirmation so left out lets
// appends follow it; a record the event-ID index does not name would be
// appended again by a retry. An undecodable record is the stream walk's
// to report.
func checkIndexed(rep *AuditReport, tx *bolt.Tx, pos uint64, rec []byte) {
	stream, rev, typ, ok := recordKey(rec)
	id, ok2 := idOf(rec)
	if !ok || !ok2 {
		return
	}
	bad := func(problem string) {
		rep.add(chainFinding(chain.KindIndex, string(stream), rev, events.Position(pos), problem, ErrCorrupt))
	}
	if v := tx.Bucket([]byte(bIndex)).Get(indexKey(string(stream), rev)); len(v) != 8 || binary.BigEndian.Uint64(v) != pos {
		what := "record"
		if events.Seals(string(typ)) {
			what = "confirmation (it seals its stream: appends after it may have been taken)"
		}
		bad(fmt.Sprintf("the stream index does not name this %s for its revision: the stream reads without it", what))
	}
	if v := tx.Bucket([]byte(bIDs)).Get(id); len(v) != 8 || binary.BigEndian.Uint64(v) != pos {
		bad("the event-ID index does not name this record for its event ID: a retry of its append would be taken again")
	}
}

// auditIDs checks the event-ID index against the log.
func (s *Store) auditIDs(ctx context.Context, rep *AuditReport) error {
	ids := 0
	err := s.pages(ctx, bIDs, func(tx *bolt.Tx, k, v []byte) {
		ids++
		if len(k) != 16 || len(v) != 8 {
			rep.add(chain.LogFinding(chain.KindIndex, ErrCorrupt, "a malformed event-ID entry"))
			return
		}
		rec, ok := s.layout.record(binary.BigEndian.Uint64(v), tx.Bucket([]byte(bLog)).Get(v))
		if !ok {
			rep.add(chain.LogFinding(chain.KindIndex, ErrCorrupt, "the event-ID index names position %d, which the log lacks", binary.BigEndian.Uint64(v)))
			return
		}
		if id, ok := idOf(rec); !ok || !bytes.Equal(id, k) {
			rep.add(chain.LogFinding(chain.KindIndex, ErrCorrupt, "the event-ID index names position %d for an event the record there does not carry", binary.BigEndian.Uint64(v)))
		}
	}, nil)
	if err != nil {
		return err
	}
	if ids != rep.Records {
		rep.add(chain.LogFinding(chain.KindIndex, ErrCorrupt, "the event-ID index holds %d events, the streams %d records: a retried append would not be recognised", ids, rep.Records))
	}
	return nil
}

// idOf reads the event ID of a stored record: it follows the version byte,
// the uvarint-prefixed stream and the revision.
func idOf(v []byte) ([]byte, bool) {
	if len(v) < 2 {
		return nil, false
	}
	l, n := binary.Uvarint(v[1:])
	at := 1 + n + int(l) + 8
	if n <= 0 || l > uint64(len(v)) || at+16 > len(v) {
		return nil, false
	}
	return v[at : at+16], true
}

func chainFinding(k chain.Kind, stream string, rev uint64, pos events.Position, problem string, err error) *chain.Finding {
	return &chain.Finding{Kind: k, Stream: stream, Revision: rev, Position: pos, Index: -1, Problem: problem, Err: err}
}
