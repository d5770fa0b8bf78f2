// Package codeshape checks that the module's code stays readable: no
// function (outside tests) longer than MaxLines lines, and no control
// structure nested deeper than MaxDepth.
//
// Depth counts the statements that open a block a reader has to hold in
// mind: if, for, range, switch, type switch, select and function literals
// (an iterator's yield function is one level, like a loop). Generated
// files and files under testdata are skipped. The module's own test runs
// Check over the whole module, so a function that grows past the limits
// fails the build where it is written.
package codeshape
