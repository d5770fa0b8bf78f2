// Command registry shows a qualified registry's bulk upload: selections
// for its clients' TINs and TIN/NPIs (No Decision, Report Voluntarily,
// Opt-In), a preview with the counts per choice and every refusal, one
// CONFIRM for the set, and the result for each participant.
//
//	go run ./examples/registry
package main
