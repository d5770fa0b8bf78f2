package events_test

import (
	"errors"
	"testing"

	"github.com/electionledger/ledger/events"
)

// TestScoreWithoutCategoryCountIsRefused: a score payload without its
// number of scored categories does not decode (there is no default), with
// the fast decoder and without it; one with the number (0 included) does.
func TestScoreWithoutCategoryCountIsRefused(t *testing.T) {
	without := []byte(`{"participant":{"kind":"group","tin":"000456789"},"programYear":{"program":"MIPS","year":2024},"pathway":"traditional","score":87.5,"reportedAt":"2025-06-01T00:00:00Z"}`)
	with := []byte(`{"participant":{"kind":"group","tin":"000456789"},"programYear":{"program":"MIPS","year":2024},"pathway":"traditional","score":87.5,"scoredCategories":0,"reportedAt":"2025-06-01T00:00:00Z"}`)
	for _, reg := range []*events.Registry{events.NewRegistry(), events.NewRegistry(events.WithoutFastCodecs())} {
		_, err := reg.DecodeData(events.TypeScoreReported, 1, without)
		if !errors.Is(err, events.ErrMalformedPayload) || !errors.Is(err, events.ErrNoScoredCategories) {
			t.Fatalf("a score without scoredCategories decoded: %v", err)
		}
		e, err := reg.DecodeData(events.TypeScoreReported, 1, with)
		if err != nil || e.(events.ScoreReported).Score != 87.5 {
			t.Fatalf("a score with scoredCategories 0: %v, %v", e, err)
		}
	}
}
