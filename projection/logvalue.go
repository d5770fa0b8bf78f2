package projection

import "log/slog"

// Read models log without a full TIN: slog resolves these before any
// handler sees the value, so the JSON handler never reaches a TIN's payload
// encoding and the text handler never prints a struct by reflection.
// (How read models marshal to JSON for a service is another matter, and
// not changed here.)

// LogValue logs the status view's participant (masked), program year,
// status and election.
func (v StatusView) LogValue() slog.Value {
	attrs := []slog.Attr{
		slog.Any("participant", v.Participant),
		slog.String("programYear", v.ProgramYear.String()),
		slog.String("status", v.Kind.String()),
	}
	if !v.ElectedAt.IsZero() {
		attrs = append(attrs, slog.String("choice", v.Choice.String()), slog.String("pathway", v.Pathway.String()),
			slog.Time("electedAt", v.ElectedAt), slog.String("electedBy", v.ElectedBy), slog.Any("onBehalfOf", v.OnBehalfOf))
	}
	return slog.GroupValue(attrs...)
}

// LogValue logs the final score's clinician (masked), program year, score
// and whose score applied (masked).
func (f FinalScore) LogValue() slog.Value {
	return slog.GroupValue(
		slog.Any("clinician", f.Clinician),
		slog.String("programYear", f.ProgramYear.String()),
		slog.Bool("inMIPS", f.InMIPS),
		slog.Float64("score", f.Score),
		slog.String("source", f.Source.String()),
		slog.Any("of", f.Of),
		slog.String("reason", f.Reason),
	)
}

// LogValue logs the candidate score and whose it is (masked).
func (c Candidate) LogValue() slog.Value {
	return slog.GroupValue(slog.String("source", c.Source.String()), slog.Any("of", c.Of), slog.Float64("score", c.Score))
}

// LogValue logs the violation's place and problem.
func (v *Violation) LogValue() slog.Value {
	return slog.GroupValue(slog.String("stream", v.Stream), slog.Uint64("revision", v.Revision), slog.String("problem", v.Error()))
}
