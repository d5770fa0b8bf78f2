// Command practice shows one practice and one of its clinicians electing:
// the practice's representative opts the group in, the clinician reports
// voluntarily as an individual; after scores arrive, it prints their status
// and the final score that applies to the clinician.
//
//	go run ./examples/practice
package main
