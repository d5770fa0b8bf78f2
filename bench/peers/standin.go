package main

import (
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	bolt "go.etcd.io/bbolt"
)

const standinName = "hallgren bbolt (stand-in)"

// standin stands in for hallgren/eventsourcing's bbolt event store, which
// the Go module proxy does not serve. It writes each append the way that
// store does: one read-write bbolt transaction (fsync on commit, default
// options), a bucket per aggregate created on its first event, the last
// record of that bucket read back and decoded to check the expected version,
// the record JSON-encoded (its data and metadata already JSON, as hallgren's
// encoder writes them) and put twice: under the aggregate's next sequence
// number and under the global order's. It is our code, written from a reading
// of that store, not a copy of it.
type standin struct {
	db *bolt.DB
}

// standinGlobal is the bucket of every record in the order appended.
var standinGlobal = []byte("global_event_order")

// standinRecord is the stored form of one event.
type standinRecord struct {
	AggregateID   string
	Version       uint64
	GlobalVersion uint64
	Reason        string
	AggregateType string
	Timestamp     time.Time
	Data          []byte
	Metadata      []byte
}

var errStandinVersion = errors.New("stand-in: expected version does not match")

func openStandin(path string) (*standin, error) {
	db, err := bolt.Open(path, 0o600, &bolt.Options{Timeout: time.Second})
	if err != nil {
		return nil, err
	}
	if err := db.Update(func(tx *bolt.Tx) error {
		_, err := tx.CreateBucketIfNotExists(standinGlobal)
		return err
	}); err != nil {
		db.Close()
		return nil, err
	}
	return &standin{db: db}, nil
}

func beUint64(v uint64) []byte { return binary.BigEndian.AppendUint64(make([]byte, 0, 8), v) }

// save appends one event at version (1 for a new aggregate) in a
// transaction of its own.
func (s *standin) save(aggType, id, reason string, version uint64, at time.Time, data, md []byte) error {
	return s.db.Update(func(tx *bolt.Tx) error {
		b, err := tx.CreateBucketIfNotExists([]byte(aggType + "_" + id))
		if err != nil {
			return err
		}
		var last uint64
		if k, v := b.Cursor().Last(); k != nil {
			var r standinRecord
			if err := json.Unmarshal(v, &r); err != nil {
				return err
			}
			last = r.Version
		}
		if last+1 != version {
			return errStandinVersion
		}
		global := tx.Bucket(standinGlobal)
		seq, err := b.NextSequence()
		if err != nil {
			return err
		}
		gseq, err := global.NextSequence()
		if err != nil {
			return err
		}
		v, err := json.Marshal(standinRecord{AggregateID: id, Version: version, GlobalVersion: gseq, Reason: reason,
			AggregateType: aggType, Timestamp: at, Data: data, Metadata: md})
		if err != nil {
			return err
		}
		if err := b.Put(beUint64(seq), v); err != nil {
			return err
		}
		return global.Put(beUint64(gseq), v)
	})
}

// saveRequest encodes participant i's election request and its metadata
// with encoding/json (hallgren's encoder) and saves it as the first event
// of a new aggregate.
func (s *standin) saveRequest(fx *fixture, i int) error {
	r := requested(fx.participants[i])
	data, err := json.Marshal(&r)
	if err != nil {
		return err
	}
	md, err := json.Marshal(metadata(fx.eventIDs[i]))
	if err != nil {
		return err
	}
	return s.save("Election", fx.streams[i], "ElectionRequested", 1, now, data, md)
}

// count returns how many records the global order holds.
func (s *standin) count() (int, error) {
	n := 0
	err := s.db.View(func(tx *bolt.Tx) error {
		n = tx.Bucket(standinGlobal).Stats().KeyN
		return nil
	})
	return n, err
}

// standinDurable: per operation, encode an election request and its
// metadata with encoding/json (hallgren's encoder) and save it as a new
// aggregate's first event, from writers goroutines at once (bbolt runs
// their transactions one at a time, each with its own fsync).
func standinDurable(fx *fixture, dir string, n, writers int) side {
	return side{name: standinName,
		note: "the stand-in writes what hallgren's bbolt store writes, in our code: that store is not served by the module proxy",
		setup: func(ctx context.Context) (*trial, error) {
			if err := os.MkdirAll(dir, 0o700); err != nil {
				return nil, err
			}
			path := filepath.Join(dir, "standin.db")
			os.Remove(path)
			s, err := openStandin(path)
			if err != nil {
				return nil, err
			}
			return &trial{want: n,
				run: func(ctx context.Context, deadline time.Time) (int, error) {
					return writeConcurrently(ctx, deadline, n, writers, func(i int) error { return s.saveRequest(fx, i) })
				},
				check: func(ctx context.Context, done int) error {
					got, err := s.count()
					if err == nil && got != done {
						err = fmt.Errorf("the file holds %d records", got)
					}
					return err
				},
				cleanup: func() {
					s.db.Close()
					os.Remove(path)
				}}, nil
		}}
}
