package main

import (
	"context"
	"fmt"
	"path/filepath"
	"time"
)

// workload is one row group of the table: the same operations on every side.
type workload struct {
	name  string
	procs int // GOMAXPROCS while timed; 0 leaves it alone
	// unit names one operation, for the table ("append", "event", ...).
	unit  string
	sides []side
}

// side is one library's way of doing a workload.
type side struct {
	name string
	ours bool // a row of the table compares the peers with each side marked ours
	// note says what this side does differently, if anything.
	note string
	// grows: an operation costs more as the store grows, so a run stopped
	// by the budget gives a lower bound.
	grows bool
	setup func(ctx context.Context) (*trial, error)
}

// trial is one side's prepared run: setup done, nothing timed yet.
type trial struct {
	want int // operations a full run does
	// run does up to want operations, stopping early once deadline has
	// passed (checking it every few operations), and returns how many it
	// did.
	run func(ctx context.Context, deadline time.Time) (int, error)
	// check verifies, untimed, that the done operations did what they
	// should have (nil: nothing to check).
	check func(ctx context.Context, done int) error
	// close releases what setup took (nil: nothing).
	cleanup func()
}

func (t *trial) close() {
	if t.cleanup != nil {
		t.cleanup()
	}
}

// checkEvery is how many operations run between two looks at the deadline.
const checkEvery = 64

// loop runs op for i = 0..want-1 until the deadline, returning how many ran.
func loop(deadline time.Time, want int, op func(i int) error) (int, error) {
	for i := range want {
		if i%checkEvery == checkEvery-1 && time.Now().After(deadline) {
			return i, nil
		}
		if err := op(i); err != nil {
			return i, fmt.Errorf("operation %d: %w", i, err)
		}
	}
	return want, nil
}

// count formats n with thousands separators.
func count(n int) string {
	s := fmt.Sprint(n)
	for i := len(s) - 3; i > 0; i -= 3 {
		s = s[:i] + "," + s[i:]
	}
	return s
}

// workloads builds every workload at size sz; durable files go under dir.
func workloads(sz size, dir string) []workload {
	fx := newFixture(max(sz.streams, sz.elections))
	ours := newOurs(fx)
	hg := newHallgren(fx)
	eh := newHorizon(fx)
	gs := newGoes(fx)
	ws := []workload{
		{name: fmt.Sprintf("append to %s new streams", count(sz.streams)), unit: "append",
			sides: []side{ours.appendNew(sz.streams), hg.appendNew(sz.streams), eh.appendNew(sz.streams), gs.appendNew(sz.streams)}},
		{name: fmt.Sprintf("command on an existing stream among %s", count(sz.streams)), unit: "command",
			sides: []side{ours.command(sz.streams), hg.command(sz.streams), eh.command(sz.streams), gs.command(sz.streams)}},
	}
	for _, n := range sz.rehydrate {
		folds := max(1, sz.rehydrateOp/n)
		ws = append(ws, workload{name: fmt.Sprintf("rehydrate %s events", count(n)), unit: "stream",
			sides: []side{ours.rehydrate(n, folds), hg.rehydrate(n, folds), eh.rehydrate(n, folds), gs.rehydrate(n, folds)}})
	}
	replayOurs := ours.replayLog(sz.elections)
	replayHg, replayEh, replayGs := hg.replayLog(sz.elections), eh.replayLog(sz.elections), gs.replayLog(sz.elections)
	for _, procs := range []int{2, 1} {
		cores := "2 cores"
		if procs == 1 {
			cores = "1 core"
		}
		ws = append(ws, workload{name: fmt.Sprintf("replay %s events, %s", count(2*sz.elections), cores), procs: procs, unit: "event",
			sides: []side{replayOurs.side(true), replayOurs.side(false), replayHg.side(), replayEh.side(), replayGs.side()}})
	}
	for _, writers := range []int{1, 8, 64} {
		name := fmt.Sprintf("durable appends, %d writers", writers)
		if writers == 1 {
			name = "durable appends, 1 writer"
		}
		sub := filepath.Join(dir, fmt.Sprintf("w%d", writers))
		ws = append(ws, workload{name: name, unit: "append",
			sides: []side{ours.durable(sub, sz.durable, writers), standinDurable(fx, sub, sz.durable, writers)}})
	}
	return ws
}
