// Package election is the command side of the ledger: a pure decider over
// one participant's election stream, and a Service that runs commands
// against any events.Store.
//
// # The decider
//
// Decide(state, command, context) returns the events a command produces or a
// *Refusal naming the rule it breaks (errors.Is with ErrRefused and the
// rule's sentinel), the participant (TIN masked) and what would make it
// pass. Evolve(state, event) folds a recorded event into the state. Neither
// reads a clock, does I/O or draws randomness: the Service supplies the time,
// the program-year rules and the standing eligibility determination in a
// Context.
//
// # Finality
//
// Once confirmed, an election is final at every layer: the decider refuses
// every command against a final state with ErrElectionFinal; Evolve refuses
// any event after ElectionConfirmed as a ledger violation; the confirmation
// is appended at the exact revision of the request it confirms, so of racing
// confirmations and withdrawals exactly one lands; and ElectionConfirmed
// seals its stream, so every Store refuses any later append.
//
// # The Service
//
// The Service checks the Statement of Truth attestation and the Authorizer,
// loads the stream, decides, and appends at the loaded revision, retrying a
// bounded number of times on a conflict. Event IDs derive from the command
// ID, so a retried command appends nothing and returns its original
// Receipt; a confirmation's Receipt.Hash is the confirmation number.
// Registries elect in bulk with PreviewBatch, SubmitBatch, ConfirmBatch and
// CancelBatch; ElectVirtualGroup opts in a virtual group's eligible members;
// MaySubmit is the submission gate. Package electiontest makes scenario tests
// short.
package election
