// Package eligibility holds the program-year rules as data and answers, for
// each participant, "may it elect, must it participate" (docs/rules.md §1-3,
// §6).
//
// The Table holds one Rules row per program year: the election window
// (closing at 8 pm US Eastern, daylight saving applied), the separate data
// deadline, the virtual group window (open through 11:59 pm on Dec 31), the
// Partial QP election deadline, the two 12-month determination segments, the
// low-volume threshold, the performance and exceptional thresholds, the
// applicable percent, the payment year, which choices exist, how APM
// Entities are judged that year, and program requirements such as QIPS's
// champions and portal registration. Default holds MIPS PY2017-PY2026 and
// QIPS MY2021; Table.Set adds or overrides a year without editing the
// library. Values no source confirms are listed in each row's Unconfirmed
// field.
//
// Determine judges a participant from one source (a segment, an APM
// snapshot): required, opt-in eligible, exempt, excluded with its reason, a
// Partial QP, or not assessed (APM Entities from PY2021), and which criteria
// it exceeded ("exceeds" is strictly greater). Each determination is an
// events.EligibilityDetermined, recorded with Record (which validates it
// against the table) in the participant's eligibility stream.
//
// A participant's standing is reconciled from its determinations (Reconcile,
// Current): segment 1 alone is the initial status; segment 2 reconciled with
// it is the final one, required only if above the threshold in both, opt-in
// eligible by the year's SegmentPolicy, exempt otherwise; a TIN newly
// established in segment 2 is judged on segment 2 alone; later imports and
// QP findings still change it. The Standing says which phase it is in and
// how it was reached, and asks "as of" any instant.
//
// CheckVirtualGroupMember judges a TIN for virtual group membership.
//
// ReadDecisions (opt-in decision records) and ReadNPILookup (the v6
// multi-NPI lookup and the older single form) read QPP Eligibility API
// documents as CMS writes them, decoded as a stream under a size limit, into
// determinations, historical elections and virtual group memberships, which
// Apply records (docs/rules.md §6). A bad record refuses the whole document
// with every problem listed by record and field, unless the caller asks for
// the valid records and a report; a participant named twice with conflicting
// content refuses it whole; a masked TIN is reported, never matched.
// LedgerDecisions, WriteDecisions and DecisionEntities export every opt-in
// and voluntary election as decision records and the Qpp-Opt-In-Entities
// header: the one place a full TIN leaves the library.
package eligibility
