// Package ordered runs work on a stream of items on several goroutines and
// hands the items on in the order they were made: the one such helper of
// the library, used by the rebuild (read a batch of records, verify and
// decode it on every core, apply it in log order) and by the final scores
// (score chunks of clinicians on every core, yield them in order).
//
// # Design
//
// Run starts three kinds of goroutine: the producer (the caller's
// function, which fills items and sends them), the workers, and the
// consumer (the caller's range loop over Run's iterator). A fixed set of
// items circulates between them: the producer takes a free item, fills it
// and sends it; the workers work on it; the consumer receives it, in the
// order sent, once the work is done, and when its loop body returns the
// item goes back to the free list. So at most Ahead items are in flight,
// and a long run makes no garbage per item.
//
// An item goes either to one worker (Config.Every false: chunks of
// independent work) or to every worker, each doing its share (Every true:
// a batch of records whose streams are split among the workers, so each
// stream's hash chain is verified by one goroutine, in order).
//
// Breaking out of the consumer's loop stops the producer (its take and
// send report false) and waits for every goroutine before Run's iterator
// returns, so nothing outlives the loop.
package ordered
