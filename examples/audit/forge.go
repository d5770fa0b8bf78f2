package main

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"time"

	"github.com/electionledger/ledger/events"
	"github.com/electionledger/ledger/events/boltstore"
	"github.com/google/uuid"
	bolt "go.etcd.io/bbolt"
)

// The forgeries an operator with write access to the ledger file could
// attempt, to show that each is caught.

func copyFile(from, to string) error {
	b, err := os.ReadFile(from)
	if err != nil {
		return err
	}
	return os.WriteFile(to, b, 0o600)
}

// flipByte changes one byte of the record stored at pos, the first after
// marker, editing the file underneath the store.
func flipByte(path string, pos events.Position, marker string) error {
	db, err := bolt.Open(path, 0o600, &bolt.Options{Timeout: time.Second})
	if err != nil {
		return err
	}
	defer db.Close()
	return db.Update(func(tx *bolt.Tx) error {
		b := tx.Bucket([]byte("log"))
		if b == nil {
			return errors.New("not a ledger file")
		}
		key := binary.BigEndian.AppendUint64(nil, uint64(pos))
		v := bytes.Clone(b.Get(key))
		i := bytes.Index(v, []byte(marker))
		if i < 0 {
			return fmt.Errorf("no %s in the record at position %d", marker, pos)
		}
		v[i+len(marker)] ^= 0x01 // "opt-in" becomes "npt-in"
		return b.Put(key, v)
	})
}

// forgeConfirmation appends a correctly hashed confirmation for p, in its
// own stream, with no request before it and no attestation.
func forgeConfirmation(ctx context.Context, path string, names *events.StreamNamer, py events.ProgramYear, p events.Participant) error {
	s, err := boltstore.Open(path)
	if err != nil {
		return err
	}
	defer s.Close()
	d, err := events.NewRegistry().Encode(uuid.New(), events.ElectionConfirmed{Participant: p, ProgramYear: py, Choice: events.ChoiceOptIn,
		Pathway: events.PathwayTraditional, ConfirmedAt: time.Date(2025, 3, 11, 0, 0, 0, 0, time.UTC)}, events.Metadata{Actor: "nobody"})
	if err != nil {
		return err
	}
	_, err = s.Append(ctx, names.Election(py, p), events.NoStream, d)
	return err
}

// rewriteWithout rewrites the ledger without the record whose hash is h:
// every record after it appended again, so every hash chain, the stored
// tree and every index are recomputed and the file is consistent with
// itself. Only a checkpoint kept from before shows it.
func rewriteWithout(ctx context.Context, path string, h events.Hash) error {
	src, err := boltstore.Open(path, boltstore.ReadOnly())
	if err != nil {
		return err
	}
	var recs []events.Record
	for r, err := range src.ReadAll(ctx, 0) {
		if err != nil {
			src.Close()
			return err
		}
		if r.Hash != h {
			recs = append(recs, r)
		}
	}
	src.Close()
	tmp := path + ".new"
	i := 0
	dst, err := boltstore.Open(tmp, boltstore.WithClock(func() time.Time { return recs[min(i, len(recs)-1)].RecordedAt }))
	if err != nil {
		return err
	}
	for i = range recs {
		r := recs[i]
		if _, err := dst.Append(ctx, r.Stream, events.Any, events.EventData{ID: r.ID, Type: r.Type, SchemaVersion: r.SchemaVersion, Data: r.Data, Metadata: r.Metadata}); err != nil {
			dst.Close()
			return err
		}
	}
	if err := dst.Close(); err != nil {
		return err
	}
	return os.Rename(tmp, path)
}
