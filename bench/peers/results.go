package main

import (
	"fmt"
	"io"
	"slices"
	"strings"
	"time"
)

// measurement is one side's run of one workload in one round.
type measurement struct {
	perOp   time.Duration
	ops     int
	want    int
	partial bool // stopped by the budget before want operations
	bound   bool // partial, and the cost grows with the store: a lower bound
	procs   int
}

func (m measurement) String() string {
	s := fmt.Sprintf("%s/op over %s ops", formatDuration(m.perOp), count(m.ops))
	if m.partial {
		s += fmt.Sprintf(" (budget reached; %s wanted)", count(m.want))
	}
	return s
}

// results holds every measurement: per workload, per side, one per round.
type results struct {
	workloads  []workload
	samples    []map[string][]measurement // by workload index, then side name
	loadBefore string
	loadAfter  string
	elapsed    time.Duration
	rounds     int // complete rounds
}

func newResults(ws []workload) *results {
	r := &results{workloads: ws}
	for range ws {
		r.samples = append(r.samples, map[string][]measurement{})
	}
	return r
}

func (r *results) add(w workload, side string, round int, m measurement) {
	for i := range r.workloads {
		if r.workloads[i].name == w.name {
			r.samples[i][side] = append(r.samples[i][side], m)
			return
		}
	}
}

// summary is one side's figures over the rounds.
type summary struct {
	median   time.Duration
	min, max time.Duration
	partial  bool // some round gave a lower bound: so is the median
	rounds   []time.Duration
}

func summarize(ms []measurement) summary {
	var s summary
	for _, m := range ms {
		s.rounds = append(s.rounds, m.perOp)
		s.partial = s.partial || m.bound
	}
	s.median = median(s.rounds)
	s.min, s.max = slices.Min(s.rounds), slices.Max(s.rounds)
	return s
}

// median returns the median of ds (the mean of the middle two for an even
// count); 0 for none.
func median(ds []time.Duration) time.Duration {
	if len(ds) == 0 {
		return 0
	}
	s := slices.Clone(ds)
	slices.Sort(s)
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

// formatDuration prints d with three significant digits in a unit that fits.
func formatDuration(d time.Duration) string {
	switch {
	case d < time.Microsecond:
		return fmt.Sprintf("%d ns", d.Nanoseconds())
	case d < time.Millisecond:
		return trim(float64(d)/float64(time.Microsecond)) + " µs"
	case d < time.Second:
		return trim(float64(d)/float64(time.Millisecond)) + " ms"
	}
	return trim(d.Seconds()) + " s"
}

func trim(x float64) string {
	switch {
	case x >= 100:
		return fmt.Sprintf("%.0f", x)
	case x >= 10:
		return fmt.Sprintf("%.1f", x)
	}
	return fmt.Sprintf("%.2f", x)
}

// figure prints a side's median, marked ≥ when some round hit the budget.
func (s summary) figure() string {
	f := formatDuration(s.median)
	if s.partial {
		f = "≥ " + f
	}
	return f
}

// spread prints the rounds' range as a percentage around the median.
func (s summary) spread() string {
	if len(s.rounds) < 2 || s.median == 0 {
		return ""
	}
	lo := 100 * float64(s.median-s.min) / float64(s.median)
	hi := 100 * float64(s.max-s.median) / float64(s.median)
	return fmt.Sprintf("−%.0f/+%.0f%%", lo, hi)
}

// row is one line of the table: one of our sides against the peers.
type row struct {
	workload  string
	ours      string // the side's name
	oursSum   summary
	best      string // the fastest peer by median; "" if none ran
	bestSum   summary
	ratio     float64 // best peer's median ÷ ours
	ratioLo   float64 // the lowest and highest per-round ratio
	ratioHi   float64
	others    []string // every other peer's figure
	notes     []string
	oursNames int // how many of our sides the workload has
}

func (r *results) rows() []row {
	var rows []row
	for i, w := range r.workloads {
		var ourSides, peers []side
		for _, s := range w.sides {
			if len(r.samples[i][s.name]) == 0 {
				continue
			}
			if s.ours {
				ourSides = append(ourSides, s)
			} else {
				peers = append(peers, s)
			}
		}
		sums := map[string]summary{}
		for name, ms := range r.samples[i] {
			sums[name] = summarize(ms)
		}
		var best side
		for _, p := range peers {
			if best.name == "" || sums[p.name].median < sums[best.name].median {
				best = p
			}
		}
		for _, o := range ourSides {
			rw := row{workload: w.name, ours: o.name, oursSum: sums[o.name], oursNames: len(ourSides)}
			if o.note != "" {
				rw.notes = append(rw.notes, o.note)
			}
			if best.name != "" {
				rw.best, rw.bestSum = best.name, sums[best.name]
				rw.ratio = float64(rw.bestSum.median) / float64(rw.oursSum.median)
				var per []float64
				ours, theirs := r.samples[i][o.name], r.samples[i][best.name]
				for k := range min(len(ours), len(theirs)) {
					per = append(per, float64(theirs[k].perOp)/float64(ours[k].perOp))
				}
				rw.ratioLo, rw.ratioHi = slices.Min(per), slices.Max(per)
			}
			for _, p := range peers {
				if p.name != best.name {
					rw.others = append(rw.others, p.name+" "+sums[p.name].figure())
				}
				if p.note != "" {
					rw.notes = append(rw.notes, p.note)
				}
			}
			rows = append(rows, rw)
		}
	}
	return rows
}

// printTable writes the ratio table as Markdown, its notes numbered below
// it.
func printTable(w io.Writer, cfg config, r *results) {
	fmt.Fprintf(w, "Size %s, %d interleaved rounds in %s; load average (1, 5, 15 min) %s before, %s after.\n\n",
		cfg.size.name, r.rounds, r.elapsed.Round(time.Second), r.loadBefore, r.loadAfter)
	fmt.Fprintln(w, "| workload | ours | best peer | best peer ÷ ours | other peers | notes |")
	fmt.Fprintln(w, "|---|---|---|---|---|---|")
	var notes []string
	number := func(note string) string {
		i := slices.Index(notes, note)
		if i < 0 {
			notes = append(notes, note)
			i = len(notes) - 1
		}
		return fmt.Sprint(i + 1)
	}
	for _, rw := range r.rows() {
		label := rw.workload
		if rw.oursNames > 1 {
			label += ", " + strings.TrimPrefix(rw.ours, oursName+", ")
		}
		ours := rw.oursSum.figure()
		if s := rw.oursSum.spread(); s != "" {
			ours += " (" + s + ")"
		}
		best, ratio := "–", "–"
		if rw.best != "" {
			best = rw.best + " " + rw.bestSum.figure()
			if s := rw.bestSum.spread(); s != "" {
				best += " (" + s + ")"
			}
			ratio = fmt.Sprintf("**%.2f×**", rw.ratio)
			if rw.bestSum.partial {
				ratio = "**≥ " + ratio[2:]
			}
			if r.rounds > 1 {
				ratio += fmt.Sprintf(" (rounds %.2f–%.2f)", rw.ratioLo, rw.ratioHi)
			}
		}
		others := strings.Join(rw.others, "; ")
		if others == "" {
			others = "–"
		}
		var refs []string
		for _, n := range rw.notes {
			refs = append(refs, number(n))
		}
		fmt.Fprintf(w, "| %s | %s | %s | %s | %s | %s |\n", label, ours, best, ratio, others, strings.Join(refs, ", "))
	}
	if len(notes) > 0 {
		fmt.Fprintln(w)
		for i, n := range notes {
			fmt.Fprintf(w, "%d. %s\n", i+1, upperFirst(n))
		}
	}
	fmt.Fprintln(w, "\nTimes are per operation (for replay: per event), medians of the rounds; in brackets the spread of"+
		" the rounds around the median and the lowest and highest per-round ratio. A side that ran out of its budget (-budget) in a round"+
		" is timed over the operations it did; ≥ marks a side whose operations cost more as its store grows, which"+
		" then gives a lower bound.")
}

func upperFirst(s string) string {
	if s == "" {
		return s
	}
	return strings.ToUpper(s[:1]) + s[1:]
}
