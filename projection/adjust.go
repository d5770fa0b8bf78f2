package projection

import (
	"errors"
	"fmt"

	"github.com/electionledger/ledger/eligibility"
)

// Adjustment is a MIPS payment adjustment, in percent.
type Adjustment struct {
	// Applies is false for participants with no adjustment (voluntary
	// reporters, exempt, excluded).
	Applies bool
	// Base is the adjustment from the final score: positive, zero or
	// negative.
	Base float64
	// Exceptional is the additional adjustment for exceptional performance
	// (years that have it), from its separate pool.
	Exceptional float64
}

// Total is Base plus Exceptional.
func (a Adjustment) Total() float64 { return a.Base + a.Exceptional }

// ErrInvalidFactor: a scaling factor outside its range.
var ErrInvalidFactor = errors.New("projection: invalid scaling factor")

// PaymentAdjustment returns the adjustment for final score fs in a program
// year (42 CFR 414.1405, docs/rules.md §5), with performance threshold PT,
// applicable percent A and budget-neutrality scaling factor sf (0 < sf <= 3):
//
//   - fs >= PT: +A x (fs - PT) / (100 - PT) x sf (zero at exactly PT);
//   - PT/4 < fs < PT: -A x (PT - fs) / PT;
//   - fs <= PT/4: -A.
//
// In years with an exceptional performance threshold, fs at or above it adds
// 0.5% at the threshold rising linearly to 10% at 100, times exceptionalSF
// (0 <= exceptionalSF <= 1): the 0.5% floor and the line to 10% follow the
// regulation (docs/rules.md §5).
func PaymentAdjustment(r *eligibility.Rules, fs, sf, exceptionalSF float64) (Adjustment, error) {
	switch {
	case fs < 0 || fs > 100 || fs != fs:
		return Adjustment{}, fmt.Errorf("projection: final score %v outside 0..100", fs)
	case !(sf > 0 && sf <= 3):
		return Adjustment{}, fmt.Errorf("%w: budget-neutrality factor %v; want 0 < SF <= 3", ErrInvalidFactor, sf)
	case !(exceptionalSF >= 0 && exceptionalSF <= 1):
		return Adjustment{}, fmt.Errorf("%w: exceptional factor %v; want 0 to 1", ErrInvalidFactor, exceptionalSF)
	}
	pt, a := r.PerformanceThreshold, r.ApplicablePercent
	adj := Adjustment{Applies: true}
	switch {
	case fs >= pt:
		if pt < 100 {
			adj.Base = a * (fs - pt) / (100 - pt) * sf
		}
	case fs > pt/4:
		adj.Base = -a * (pt - fs) / pt
	default:
		adj.Base = -a
	}
	if ept := r.ExceptionalThreshold; ept > 0 && fs >= ept {
		span := 100 - ept
		lin := 0.0
		if span > 0 {
			lin = (fs - ept) / span
		}
		adj.Exceptional = (0.5 + 9.5*lin) * exceptionalSF
	}
	return adj, nil
}
