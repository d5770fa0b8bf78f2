package eligibility

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"strconv"

	"github.com/electionledger/ledger/events"
	"github.com/google/uuid"
)

// importID derives an imported event's ID from what identifies it, so
// applying the same import twice appends it once. The TIN is hashed before
// it reaches the UUID.
func importID(parts ...string) uuid.UUID {
	h := sha256.New()
	for _, p := range parts {
		h.Write([]byte(p))
		h.Write([]byte{0})
	}
	return uuid.NewSHA1(eventNamespace(), h.Sum(nil))
}

// ElectionID derives a historical election's event ID, so importing the same
// document twice appends it once.
func ElectionID(e *events.ElectionConfirmed) uuid.UUID {
	s := "election.confirmed/import\x00" + e.Participant.Kind.String() + "\x00" + e.Participant.TIN.Digits() + "\x00" +
		e.Participant.NPI.String() + "\x00" + e.ProgramYear.String() + "\x00" + e.Choice.String() + "\x00" +
		strconv.FormatInt(e.ConfirmedAt.UnixNano(), 10)
	if e.Participant.ID != "" { // APM Entities (IDs of groups and clinicians are as they always were)
		s += "\x00" + e.Participant.ID
	}
	sum := sha256.Sum256([]byte(s))
	return uuid.NewSHA1(eventNamespace(), sum[:])
}

// Apply records a validated import: each determination in its participant's
// eligibility stream (through Record), each historical election as the first
// and sealing event of its election stream, and each virtual group
// membership: every member TIN admitted in its membership stream (a TIN is
// in one virtual group a year), then the membership in the virtual group's
// stream. The document is CMS's word, so membership is not judged again
// (CheckVirtualGroupMember).
//
// Re-applying the same import appends nothing new. Apply stops at the first
// refusal, having recorded what came before it; re-applying after the cause
// is removed completes it. An election stream that already holds events is
// refused: with events.ErrStreamSealed when its election is confirmed, with
// events.ErrWrongExpectedRevision when a request is pending: the ledger's
// own election stands. A TIN the ledger admitted to another virtual group
// that year is refused with a *MemberError (ErrMemberOfAnother).
func Apply(ctx context.Context, store events.Store, names *events.StreamNamer, reg *events.Registry, table *Table, imp Import, md events.Metadata) error {
	for _, d := range imp.Determinations {
		if _, err := Record(ctx, store, names, reg, table, d, md); err != nil {
			return err
		}
	}
	for _, e := range imp.Elections {
		data, err := reg.Encode(ElectionID(&e), e, md)
		if err != nil {
			return err
		}
		if _, err := store.Append(ctx, names.Election(e.ProgramYear, e.Participant), events.NoStream, data); err != nil {
			return fmt.Errorf("eligibility: import election for %v: %w", e.Participant, err)
		}
	}
	for _, m := range imp.Memberships {
		if err := applyMembership(ctx, store, names, reg, m, md); err != nil {
			return err
		}
	}
	return nil
}

// applyMembership admits each member, then records the membership.
func applyMembership(ctx context.Context, store events.Store, names *events.StreamNamer, reg *events.Registry, m events.VirtualGroupMembership, md events.Metadata) error {
	py, vg := m.ProgramYear, m.VirtualGroup
	for _, tin := range m.Members {
		admitted := events.VirtualGroupMemberAdmitted{Member: events.Group(tin), ProgramYear: py, VirtualGroupID: vg.ID, AdmittedAt: m.EffectiveAt}
		data, err := reg.Encode(importID("virtual-group.member-admitted/import", py.String(), tin.Digits(), vg.ID,
			strconv.FormatInt(m.EffectiveAt.UnixNano(), 10)), admitted, md)
		if err != nil {
			return err
		}
		stream := names.VirtualGroupMember(py, tin)
		_, err = store.Append(ctx, stream, events.NoStream, data)
		if errors.Is(err, events.ErrWrongExpectedRevision) {
			var other string
			if other, err = admittedTo(ctx, store, reg, stream); err == nil && other != vg.ID {
				return &MemberError{TIN: tin, ProgramYear: py, Rule: ErrMemberOfAnother, Detail: "the ledger admitted it to virtual group " + other,
					Remedy: "a TIN is in one virtual group a year: the ledger's membership stands"}
			}
		}
		if err != nil {
			return fmt.Errorf("eligibility: import membership of %v in %v: %w", tin, vg, err)
		}
	}
	data, err := reg.Encode(importID("virtual-group.membership/import", py.String(), vg.ID, strconv.FormatInt(m.EffectiveAt.UnixNano(), 10)), m, md)
	if err != nil {
		return err
	}
	if _, err := store.Append(ctx, names.VirtualGroup(py, vg), events.Any, data); err != nil {
		return fmt.Errorf("eligibility: import membership of %v: %w", vg, err)
	}
	return nil
}

// admittedTo reads a TIN's membership stream: the virtual group it was last
// admitted to.
func admittedTo(ctx context.Context, store events.Store, reg *events.Registry, stream string) (string, error) {
	vg := ""
	for rec, err := range store.ReadStream(ctx, stream, 0) {
		if err != nil {
			return "", err
		}
		e, err := reg.Decode(&rec)
		if err != nil {
			return "", err
		}
		if a, ok := e.(events.VirtualGroupMemberAdmitted); ok {
			vg = a.VirtualGroupID
		}
	}
	return vg, nil
}
