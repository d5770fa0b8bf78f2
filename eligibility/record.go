package eligibility

import (
	"context"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"time"

	"github.com/electionledger/ledger/events"
	"github.com/google/uuid"
)

// eventNamespace is the UUID v5 namespace of determination and import event
// IDs (a constant of this library).
func eventNamespace() uuid.UUID {
	return uuid.UUID{0x6e, 0x1c, 0x9e, 0x41, 0x0b, 0x7a, 0x4d, 0x55, 0x9a, 0x3f, 0x51, 0xe0, 0x2c, 0x8d, 0x47, 0x13}
}

// DeterminationID derives a determination's event ID from what identifies
// it (participant, year, source, source date, run and time), so recording
// the same determination twice appends it once.
func DeterminationID(d *events.EligibilityDetermined) uuid.UUID {
	b := make([]byte, 0, 96)
	b = append(b, "eligibility.determined\x00"...)
	b = append(b, d.Participant.Kind.String()...)
	b = append(b, 0)
	b = append(b, d.Participant.TIN.Digits()...)
	b = append(b, 0)
	b = append(b, d.Participant.NPI.String()...)
	b = append(b, 0)
	b = append(b, d.Participant.ID...)
	b = append(b, 0)
	b = append(b, d.ProgramYear.String()...)
	b = append(b, byte(d.Source))
	b = binary.BigEndian.AppendUint64(b, uint64(d.SourceDate.UnixNano()))
	b = binary.BigEndian.AppendUint64(b, uint64(d.DeterminedAt.UnixNano()))
	b = binary.BigEndian.AppendUint64(b, uint64(d.Run))
	sum := sha256.Sum256(b) // keep the TIN out of the UUID's input as stored anywhere
	return uuid.NewSHA1(eventNamespace(), sum[:])
}

// Record appends a determination to the participant's eligibility stream.
// Earlier determinations stay in the stream: a later one supersedes them
// without erasing them. Recording the same determination again is a no-op
// that returns the original result.
func Record(ctx context.Context, store events.Store, names *events.StreamNamer, reg *events.Registry, d events.EligibilityDetermined, md events.Metadata) (events.AppendResult, error) {
	data, err := reg.Encode(DeterminationID(&d), d, md)
	if err != nil {
		return events.AppendResult{}, err
	}
	return store.Append(ctx, names.Eligibility(d.ProgramYear, d.Participant), events.Any, data)
}

// Supersedes reports whether determination b replaces a as the one that
// stands: the later DeterminedAt wins; at the same instant the later-recorded
// one (b) wins.
func Supersedes(b, a *events.EligibilityDetermined) bool {
	return !b.DeterminedAt.Before(a.DeterminedAt)
}

// Latest returns the determination that stands as of asOf (zero: now and
// forever) among determinations in recorded order.
func Latest(dets []events.EligibilityDetermined, asOf time.Time) (events.EligibilityDetermined, bool) {
	var best events.EligibilityDetermined
	found := false
	for i := range dets {
		d := &dets[i]
		if !asOf.IsZero() && d.DeterminedAt.After(asOf) {
			continue
		}
		if !found || Supersedes(d, &best) {
			best, found = *d, true
		}
	}
	return best, found
}

// History reads every determination of a participant for a program year, in
// recorded order.
func History(ctx context.Context, store events.Store, names *events.StreamNamer, reg *events.Registry, py events.ProgramYear, p events.Participant) ([]events.EligibilityDetermined, error) {
	var out []events.EligibilityDetermined
	for rec, err := range store.ReadStream(ctx, names.Eligibility(py, p), 0) {
		if errors.Is(err, events.ErrStreamNotFound) {
			return nil, nil
		}
		if err != nil {
			return nil, err
		}
		e, err := reg.Decode(&rec)
		if err != nil {
			return nil, err
		}
		d, ok := e.(events.EligibilityDetermined)
		if !ok {
			return nil, fmt.Errorf("eligibility: %s@%d holds %s, not a determination", rec.Stream, rec.Revision, rec.Type)
		}
		out = append(out, d)
	}
	return out, nil
}

// Current returns the determination that stands for a participant as of
// asOf (zero: the latest), read from the store.
func Current(ctx context.Context, store events.Store, names *events.StreamNamer, reg *events.Registry, py events.ProgramYear, p events.Participant, asOf time.Time) (events.EligibilityDetermined, bool, error) {
	h, err := History(ctx, store, names, reg, py, p)
	if err != nil {
		return events.EligibilityDetermined{}, false, err
	}
	d, ok := Latest(h, asOf)
	return d, ok, nil
}
