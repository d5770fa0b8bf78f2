package eligibility

import (
	"context"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"

	"github.com/electionledger/ledger/events"
	"github.com/go-json-experiment/json/jsontext"
)

// lookupRecord is one clinician (NPI) of the NPI lookup (docs/rules.md §6).
// Fields the ledger does not keep (names, specialty, qpScoreType, isMaqi,
// scores, addresses) are not decoded.
type lookupRecord struct {
	NPI           *string        `json:"npi"`
	NewlyEnrolled *bool          `json:"newlyEnrolled"`
	QPStatus      *string        `json:"qpStatus"`
	Organizations []organization `json:"organizations"`
}

// organization is one practice (TIN) the clinician bills under.
type organization struct {
	TIN                *string        `json:"TIN"`
	IndividualScenario *scenario      `json:"individualScenario"`
	GroupScenario      *scenario      `json:"groupScenario"`
	APMs               []apm          `json:"apms"`
	VirtualGroups      []virtualGroup `json:"virtualGroups"`
}

// scenario is an individualScenario or groupScenario.
type scenario struct {
	IsOptInEligible        *bool             `json:"isOptInEligible"`
	IsOptedIn              *bool             `json:"isOptedIn"`
	OptInDecisionDate      *string           `json:"optInDecisionDate"`
	LowVolumeSwitch        *bool             `json:"lowVolumeSwitch"` // true: below the threshold
	LowVolumeStatusReasons []lowVolumeReason `json:"lowVolumeStatusReasons"`
	MIPSEligibleSwitch     *bool             `json:"mipsEligibleSwitch"` // false: not an eligible clinician type
}

// lowVolumeReason is one entry of lowVolumeStatusReasons.
type lowVolumeReason struct {
	Code        *string `json:"lowVolStusRsnCd"`
	Description *string `json:"lowVolStusRsnDesc"`
}

// apm is one APM the clinician participates in under the TIN. entityId (the
// APM Entity's identifier) is our reading: docs/rules.md §6.
type apm struct {
	EntityID          *string `json:"entityId"`
	IsOptedIn         *bool   `json:"isOptedIn"`
	OptInDecisionDate *string `json:"optInDecisionDate"`
}

// virtualGroup is one virtual group the TIN is a member of.
type virtualGroup struct {
	ID *string `json:"virtualGroupIdentifier"`
}

// clinicianFacts are a lookup record's facts about the clinician.
type clinicianFacts struct {
	npi      events.NPI
	qpStatus string
	newly    bool
}

var lookupShape = docShape{singleObject: true,
	want: `want {"data": [NPI records]} (the v6 lookup) or {"data": {an NPI record}} (the older single-NPI form)`}

// reasonCriteria maps a lowVolStusRsnCd to the low-volume-threshold
// criteria it says the participant did NOT exceed (docs/rules.md §6: our
// reading, unconfirmed). ALL is every criterion of the year; "" says
// nothing.
var reasonCriteria = map[string]events.Criteria{
	"":          0,
	"CHRG":      events.CriterionCharges,
	"BENE":      events.CriterionPatients,
	"SRVC":      events.CriterionServices,
	"BOTH":      events.CriterionCharges | events.CriterionPatients,
	"BENE/SRVC": events.CriterionPatients | events.CriterionServices,
	"CHRG/SRVC": events.CriterionCharges | events.CriterionServices,
	"ALL":       events.CriterionCharges | events.CriterionPatients | events.CriterionServices,
}

// ReadNPILookup reads an NPI lookup response for program year py: the v6
// multi-NPI lookup (/api/eligibility/npis/{npi,...}?year=YYYY, "data" an
// array of NPI records) or the older single form ("data" one NPI record),
// decoded as a stream and bounded by opts.MaxBytes (docs/rules.md §6). A
// record is one NPI; problems name its index in "data" and the field, e.g.
// "organizations[1].TIN". A bad record refuses the document (or, with
// opts.KeepValid, is left out whole and reported); a participant named twice
// with different content refuses it whole; a masked TIN is reported
// (ErrMaskedTIN), never matched.
//
// Each organization's individualScenario becomes the clinician's (TIN/NPI)
// determination, its groupScenario the practice's (TIN), each with a
// recorded decision as a historical election. A practice repeated under
// several clinicians is imported once. The status: lowVolumeSwitch false is
// required; true is opt-in eligible with isOptInEligible true, exempt
// otherwise; lowVolumeStatusReasons name the criteria not exceeded
// (recorded in Exceeded). For the clinician, qpStatus "Y" excludes it as a
// QP, newlyEnrolled as newly enrolled, mipsEligibleSwitch false as an
// ineligible clinician type, and "P" makes it a Partial QP; "Q" and "R",
// whose meaning is unconfirmed, are recorded (EligibilityDetermined.QPStatus)
// and noted in the report, never refused. apms[].isOptedIn true is the
// PY2019-2020 APM Entity opt-in (refused in other years); virtualGroups[]
// make the TIN a member of each virtual group named.
func ReadNPILookup(ctx context.Context, table *Table, py events.ProgramYear, r io.Reader, opts ImportOptions) (Import, error) {
	c, err := newCollector(table, opts)
	if err != nil {
		return Import{}, err
	}
	c.index = -1
	rules := c.lookup("year", py)
	if rules == nil {
		return Import{}, &ImportError{Problems: c.problems}
	}
	n, doc, err := streamRecords(ctx, r, c.opts.MaxBytes, lookupShape, func(i int, v jsontext.Value) {
		c.begin(i)
		c.lookupRecord(rules, v)
		c.end()
	})
	if err != nil {
		return Import{}, err
	}
	return c.finish(n, doc)
}

// lookupRecord reads one NPI record.
func (c *collector) lookupRecord(rules *Rules, v jsontext.Value) {
	var d lookupRecord
	if err := unmarshalStrict(v, &d); err != nil {
		c.problem("record", "not an NPI record: "+safeJSONError(err))
		return
	}
	var f clinicianFacts
	if d.NPI == nil {
		c.problem("npi", "missing")
	} else if n, err := events.ParseNPI(*d.NPI); err != nil {
		c.problem("npi", identifierReason(err))
	} else {
		f.npi = n
	}
	if d.QPStatus != nil {
		f.qpStatus = *d.QPStatus
		switch f.qpStatus {
		case "Y", "N", "P", "":
		case "Q", "R":
			c.note("qpStatus", f.qpStatus+": recorded as given; its meaning is unconfirmed (docs/rules.md §6), "+
				"so the clinician's status comes from its scenarios and no QP finding is made")
		default:
			c.problem("qpStatus", fmt.Sprintf("an unknown code of %d characters; want Y, N, P, Q or R", len(f.qpStatus)))
		}
	}
	f.newly = d.NewlyEnrolled != nil && *d.NewlyEnrolled
	if len(d.Organizations) == 0 {
		c.problem("organizations", "no organization: nothing to import")
	}
	for k := range d.Organizations {
		c.organization(rules, "organizations["+strconv.Itoa(k)+"].", &d.Organizations[k], &f)
	}
}

// organization reads one practice of a clinician.
func (c *collector) organization(rules *Rules, at string, org *organization, f *clinicianFacts) {
	tin, ok := c.tin(at+"TIN", org.TIN)
	if !ok {
		return
	}
	if s := org.IndividualScenario; s != nil && !f.npi.IsZero() {
		c.scenario(rules, at+"individualScenario.", s, events.Individual(tin, f.npi), f)
	}
	if s := org.GroupScenario; s != nil {
		c.scenario(rules, at+"groupScenario.", s, events.Group(tin), nil)
	}
	for j := range org.APMs {
		c.apmOptIn(rules, at+"apms["+strconv.Itoa(j)+"].", &org.APMs[j])
	}
	for j := range org.VirtualGroups {
		c.virtualGroupMember(rules, at+"virtualGroups["+strconv.Itoa(j)+"].", tin, &org.VirtualGroups[j])
	}
}

// scenario reads an individual scenario (f is the clinician's facts) or a
// group scenario (f nil).
func (c *collector) scenario(rules *Rules, at string, s *scenario, p events.Participant, f *clinicianFacts) {
	before := len(c.problems)
	if s.IsOptInEligible == nil {
		c.problem(at+"isOptInEligible", "missing; want true or false")
	}
	if s.LowVolumeSwitch == nil {
		c.problem(at+"lowVolumeSwitch", "missing; want true or false")
	}
	exceeded := c.reasons(rules, at, s)
	date, hasDate := c.date(at+"optInDecisionDate", s.OptInDecisionDate)
	c.checkDecision(at, p, s.IsOptInEligible, s.IsOptedIn, hasDate, date, rules)
	if len(c.problems) > before {
		return
	}
	det := c.determination(p, rules.ProgramYear)
	det.Exceeded = exceeded
	switch {
	case !*s.LowVolumeSwitch && *s.IsOptInEligible:
		c.problem(at+"isOptInEligible", "opt-in eligible but above the low-volume threshold (lowVolumeSwitch false)")
		return
	case !*s.LowVolumeSwitch:
		det.Status = events.StatusRequired
	case *s.IsOptInEligible:
		det.Status = events.StatusOptInEligible
	default:
		det.Status = events.StatusExempt
	}
	if f != nil {
		clinicianStatus(&det, s, f)
	}
	if (det.Status == events.StatusExcluded || det.Status == events.StatusPartialQP) && s.IsOptedIn != nil {
		c.problem(at+"isOptedIn", "a decision is recorded for a clinician that is "+statusWords(&det))
		return
	}
	c.items = append(c.items, participantItem(p, rules.ProgramYear, &det, s.IsOptedIn, date, strings.TrimSuffix(at, ".")))
}

// clinicianStatus applies the clinician's own facts over its volumes: a QP
// (qpStatus Y), newly enrolled, an ineligible clinician type
// (mipsEligibleSwitch false), a Partial QP (qpStatus P), in that order. The
// qpStatus is kept as given.
func clinicianStatus(det *events.EligibilityDetermined, s *scenario, f *clinicianFacts) {
	det.QPStatus = f.qpStatus
	switch {
	case f.qpStatus == "Y":
		det.Status, det.Exclusion, det.QP = events.StatusExcluded, events.ExclusionQP, true
	case f.newly:
		det.Status, det.Exclusion = events.StatusExcluded, events.ExclusionNewlyEnrolled
	case s.MIPSEligibleSwitch != nil && !*s.MIPSEligibleSwitch:
		det.Status, det.Exclusion = events.StatusExcluded, events.ExclusionIneligibleClinicianType
	case f.qpStatus == "P":
		det.Status = events.StatusPartialQP // excluded unless a Partial QP election is made
	}
}

func statusWords(d *events.EligibilityDetermined) string {
	if d.Status == events.StatusPartialQP {
		return "a Partial QP (its election is a Partial QP election, not an opt-in)"
	}
	return "excluded (" + d.Exclusion.String() + ")"
}

// reasons reads lowVolumeStatusReasons: the criteria each code names were
// not exceeded (docs/rules.md §6). It returns the criteria exceeded: every
// criterion of the year above the threshold (lowVolumeSwitch false); those
// the codes leave out below it; none when no code says.
func (c *collector) reasons(rules *Rules, at string, s *scenario) events.Criteria {
	var below events.Criteria
	named := false
	for j, r := range s.LowVolumeStatusReasons {
		code := ""
		if r.Code != nil {
			code = *r.Code
		}
		cr, ok := reasonCriteria[code]
		field := at + "lowVolumeStatusReasons[" + strconv.Itoa(j) + "].lowVolStusRsnCd"
		switch {
		case !ok:
			c.problem(field, fmt.Sprintf("an unknown code of %d characters; want BENE, CHRG, SRVC, BOTH, BENE/SRVC, CHRG/SRVC, ALL or empty", len(code)))
			continue
		case code == "ALL":
			cr = rules.LVT.Criteria
		case cr&^rules.LVT.Criteria != 0:
			c.problem(field, fmt.Sprintf("names a criterion %v's low-volume threshold does not have (it has %v)", rules.ProgramYear, rules.LVT.Criteria))
			continue
		}
		below |= cr
		named = named || code != ""
	}
	switch {
	case s.LowVolumeSwitch == nil:
		return 0
	case !*s.LowVolumeSwitch && named:
		c.problem(at+"lowVolumeStatusReasons", "a low-volume reason for a participant above the threshold (lowVolumeSwitch false)")
		return 0
	case !*s.LowVolumeSwitch:
		return rules.LVT.Criteria
	case !named:
		return 0 // below the threshold; which criteria, the document does not say
	}
	exceeded := rules.LVT.Criteria &^ below
	if exceeded == 0 && s.IsOptInEligible != nil && *s.IsOptInEligible {
		c.problem(at+"isOptInEligible", "opt-in eligible, but the low-volume reasons say it exceeds no criterion")
	}
	return exceeded
}

// apmOptIn reads an APM's isOptedIn: true is the APM Entity's opt-in, which
// exists only in years whose rules allow it (PY2019-2020); false or null is
// no opt-in.
func (c *collector) apmOptIn(rules *Rules, at string, a *apm) {
	if a.IsOptedIn == nil || !*a.IsOptedIn {
		return
	}
	if !rules.APMEntityOptIn {
		c.problem(at+"isOptedIn", fmt.Sprintf("an APM Entity opt-in, but %v has none (PY2019-2020 only)", rules.ProgramYear))
		return
	}
	if a.EntityID == nil {
		c.problem(at+"entityId", "missing: an APM Entity opt-in needs the entity's identifier")
		return
	}
	entity, err := events.NewAPMEntity(*a.EntityID)
	if err != nil {
		c.problem(at+"entityId", identifierReason(err))
		return
	}
	date, hasDate := c.date(at+"optInDecisionDate", a.OptInDecisionDate)
	switch {
	case c.failed():
		return
	case !hasDate:
		date = rules.ElectionWindow.Close.Add(-time.Millisecond).UTC()
		c.note(at+"optInDecisionDate", "not given: the APM Entity's opt-in is recorded as confirmed at the election window's last millisecond, the latest it can have been made")
	case !rules.ElectionWindow.Contains(date):
		c.problem(at+"optInDecisionDate", fmt.Sprintf("outside the %v election window", rules.ProgramYear))
		return
	}
	it := item{p: entity, year: int32(rules.ProgramYear.Year), what: keyEntity, field: at + "entityId"}
	it.c.choice, it.c.at = events.ChoiceOptIn, date.UnixNano()
	c.items = append(c.items, it)
}

// virtualGroupMember reads a virtual group the TIN is a member of.
func (c *collector) virtualGroupMember(rules *Rules, at string, tin events.TIN, g *virtualGroup) {
	if g.ID == nil {
		c.problem(at+"virtualGroupIdentifier", "missing")
		return
	}
	vg, err := events.NewVirtualGroup(*g.ID)
	if err != nil {
		c.problem(at+"virtualGroupIdentifier", identifierReason(err))
		return
	}
	if rules.MaxVirtualGroupClinicians == 0 || rules.VirtualGroupWindow.IsZero() {
		c.problem(at+"virtualGroupIdentifier", fmt.Sprintf("%v has no virtual groups", rules.ProgramYear))
		return
	}
	c.items = append(c.items, item{p: events.Group(tin), year: int32(rules.ProgramYear.Year), what: keyMember,
		vgName: vg.ID, field: at + "virtualGroupIdentifier"})
}
