// Package projection rebuilds read models from the log: every participant's
// status, every clinician's final score and payment adjustment, and the
// feedback each participant receives.
//
//   - Status: per participant and program year, one of exempt, opt-in
//     eligible (no decision), pending confirmation, MIPS eligible via opt-in
//     (with pathway), voluntary reporter, required, excluded (with reason),
//     a Partial QP without an election, or not assessed (APM Entities from
//     PY2021), and who elected, for whom, and when. The eligibility part is
//     the standing reconciled from both segments (eligibility.Rules.Reconcile),
//     initial or final. AsOf(t) answers as the ledger stood at any past
//     instant, by replaying only what was recorded by then.
//   - Scoring: per clinician (TIN/NPI), the candidate scores and the final
//     score that applies under docs/rules.md §5 (virtual group first, else the
//     highest of individual, group, group APP for listed clinicians and APM
//     Entity scores; before PY2021 an APM Entity score overrides; no
//     candidate gives 0; fewer than two scored categories gives the
//     threshold), with the reason and the payment adjustment it implies
//     (PaymentAdjustment; none for voluntary reporters).
//   - Feedback: full or limited feedback, benchmark inclusion, public
//     reporting and the right to opt out, none for Qualifying APM
//     Participants, and APM Entity feedback under the APM scoring standard.
//
// The Runner feeds projections: Rebuild replays from position zero; Follow
// catches up from a checkpoint (MemoryCheckpoints, FileCheckpoints) and then
// follows live appends. It verifies each record's hash chain first; a
// broken chain, an event after a confirmed election or an event a model
// cannot take is reported as a Violation with its stream and revision, and
// never applied.
//
// # Memory
//
// The status and scoring models share a Catalog that interns each (program
// year, participant) once and keep packed facts in dense slices: 120 bytes
// of status facts per participant (the latest determination of each kind,
// which the standing is reconciled from, the standing itself and the
// election) and 32 of scoring facts. Measured with
// go test ./projection -run '^$' -bench Footprint: 223 bytes per participant
// for status and scoring together (200,000 clinicians and 40,000 groups),
// under the 300-byte target. TestPackedSizes holds the packed sizes above
// to their types.
package projection
