// Package piicheck finds what may be a full TIN in text: a run of nine or
// more digits, or nine digits in the SSN form (123-45-6789), and the first
// five digits of the module's test TIN. Tests across the module use it on
// everything the library prints, logs or returns as an error; its own test
// walks every exported type of the module that holds a participant or a
// TIN, and every parse error fed a TIN-shaped input.
package piicheck
