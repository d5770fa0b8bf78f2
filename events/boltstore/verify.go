package boltstore

import (
	"bytes"
	"context"
	"encoding/binary"
	"fmt"

	"github.com/electionledger/ledger/events"
	bolt "go.etcd.io/bbolt"
)

// Verify audits the whole file: it walks every stream through the stream
// index, so a damaged record is reported at the stream and revision where it
// truly sits (not where its damaged bytes claim to be), checks every hash
// chain and that nothing follows a sealing event, and checks that the log
// holds no record outside any stream. It stops at the first violation, a
// *events.ChainError.
func (s *Store) Verify(ctx context.Context) (events.VerifyReport, error) {
	var rep events.VerifyReport
	var after []byte // resume key in the index
	var cur string
	var chain events.ChainVerifier
	for {
		if err := ctx.Err(); err != nil {
			return rep, err
		}
		if s.isClosed() {
			return rep, events.ErrClosed
		}
		n := 0
		err := s.view(func(tx *bolt.Tx) error {
			log := tx.Bucket([]byte(bLog))
			c := tx.Bucket([]byte(bIndex)).Cursor()
			k, v := c.First()
			if after != nil {
				k, v = c.Seek(after)
				if k != nil && bytes.Equal(k, after) {
					k, v = c.Next()
				}
			}
			for ; k != nil && n < 4096; k, v = c.Next() {
				n++
				after = append(after[:0], k...)
				if len(k) < 9 || k[len(k)-9] != 0 || len(v) != 8 {
					return &events.ChainError{Stream: "?", Problem: "malformed index entry", Err: ErrCorrupt}
				}
				stream := string(k[:len(k)-9])
				rev := binary.BigEndian.Uint64(k[len(k)-8:])
				if stream != cur {
					cur, chain = stream, events.ChainVerifier{}
					rep.Streams++
				}
				val := log.Get(v)
				if val == nil {
					return &events.ChainError{Stream: stream, Revision: rev, Problem: "indexed record missing from the log", Err: ErrCorrupt}
				}
				r, err := events.DecodeStored(stream, rev, bytes.Clone(val))
				if err != nil {
					return err
				}
				r.Position = events.Position(binary.BigEndian.Uint64(v))
				if err := chain.Check(&r); err != nil {
					return err
				}
				rep.Records++
			}
			return nil
		})
		if err != nil {
			return rep, err
		}
		if n == 0 {
			break
		}
	}
	var logged int
	if err := s.view(func(tx *bolt.Tx) error { logged = tx.Bucket([]byte(bLog)).Stats().KeyN; return nil }); err != nil {
		return rep, err
	}
	if logged != rep.Records {
		return rep, &events.ChainError{Stream: "?", Problem: fmt.Sprintf("the log holds %d records, the streams %d", logged, rep.Records), Err: ErrCorrupt}
	}
	return rep, nil
}
