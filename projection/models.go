package projection

import (
	"github.com/electionledger/ledger/eligibility"
)

// Models bundles the status, scoring and feedback read models over one
// catalog: what a service or an audit usually rebuilds together.
type Models struct {
	Catalog  *Catalog
	Status   *Status
	Scoring  *Scoring
	Feedback *FeedbackModel
}

// NewModels returns empty models for the program years of table.
func NewModels(table *eligibility.Table, cfg ScoringConfig) *Models {
	cat := NewCatalog()
	st := NewStatus(cat, table)
	sc := NewScoring(st, table, cfg)
	return &Models{Catalog: cat, Status: st, Scoring: sc, Feedback: NewFeedback(st, sc)}
}

// Projections returns the models a Runner feeds (feedback derives from the
// other two).
func (m *Models) Projections() []Projection { return []Projection{m.Status, m.Scoring} }
