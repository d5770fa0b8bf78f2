// Package eligibility holds the program-year rules as data and determines
// each participant's eligibility from them (RULES.md §1-3, §6).
//
// The Table holds one Rules row per program year: the election window
// (closing at 8 pm US Eastern, daylight saving applied), the separate
// data-submission deadline, the virtual group window, the low-volume
// threshold, the performance and exceptional thresholds, the applicable
// percent, which choices exist, and program requirements such as QIPS's
// champions and portal registration. Default holds MIPS PY2018-PY2025 and
// QIPS MY2021; Table.Set adds or overrides a year (PY2026, another payer's
// program) without editing the library. Values RULES.md marks unconfirmed
// are listed in each row's Unconfirmed field.
//
// Determine judges a participant: required, opt-in eligible, exempt, or
// excluded with its reason, and which criteria were exceeded ("exceeds" is
// strictly greater). Each determination is an events.EligibilityDetermined,
// recorded with Record in the participant's eligibility stream; a later one
// supersedes an earlier one without erasing it (Latest, Current).
//
// ImportDecisions and ImportNPILookup turn QPP Eligibility API documents into
// determinations and historical elections, refusing a whole document when any
// record is bad; OptInEntities exports elections in the Qpp-Opt-In-Entities
// header format.
package eligibility
