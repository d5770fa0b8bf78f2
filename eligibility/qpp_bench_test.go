package eligibility_test

import (
	"bytes"
	"context"
	"fmt"
	"strconv"
	"testing"

	"github.com/electionledger/ledger/eligibility"
	"github.com/electionledger/ledger/events"
)

// npiFor returns a valid NPI for i.
func npiFor(i int) string {
	base := fmt.Sprintf("1%08d", i)
	return base + string(events.NPICheckDigit(base))
}

// decisionDocument builds a valid decision-record document of about size
// bytes, every record a distinct participant: groups and clinicians, opt-in,
// voluntary and no decision.
func decisionDocument(size int) []byte {
	var b bytes.Buffer
	b.Grow(size + 256)
	b.WriteString(`{"data":[`)
	for i := 0; b.Len() < size; i++ {
		if i > 0 {
			b.WriteByte(',')
		}
		tin := fmt.Sprintf("%09d", i/2)
		opted, date := [3]string{"true", "false", "null"}[i%3], `"2025-02-03T15:04:05.123Z"`
		if opted == "null" {
			date = "null"
		}
		npi := ""
		if i%2 == 1 {
			npi = `,"npi":"` + npiFor(i) + `"`
		}
		fmt.Fprintf(&b, `{"tin":"%s"%s,"isOptInEligible":true,"isOptedIn":%s,"optInDecisionDate":%s,"year":2024,"runNum":3}`, tin, npi, opted, date)
	}
	b.WriteString("]}")
	return b.Bytes()
}

// lookupDocument builds a valid v6 lookup of about size bytes: each NPI
// bills under its own practice and a shared one, whose group scenario repeats
// under every clinician.
func lookupDocument(size int) []byte {
	var b bytes.Buffer
	b.Grow(size + 256)
	b.WriteString(`{"data":[`)
	const shared = `{"TIN":"000000001","prvdrOrgName":"Shared Practice","individualScenario":{"isOptInEligible":true,"isOptedIn":null,"optInDecisionDate":null,` +
		`"lowVolumeSwitch":true,"lowVolumeStatusReasons":[{"lowVolStusRsnCd":"BOTH","lowVolStusRsnDesc":"Both the Part B patients and the allowed charges"}],"mipsEligibleSwitch":true},` +
		`"groupScenario":{"isOptInEligible":false,"isOptedIn":null,"optInDecisionDate":null,"lowVolumeSwitch":false,"lowVolumeStatusReasons":[]}}`
	for i := 0; b.Len() < size; i++ {
		if i > 0 {
			b.WriteByte(',')
		}
		fmt.Fprintf(&b, `{"npi":"%s","firstName":"A","lastName":"B","newlyEnrolled":false,"qpStatus":"%s","organizations":[`+
			`{"TIN":"%09d","individualScenario":{"isOptInEligible":true,"isOptedIn":true,"optInDecisionDate":"2025-02-03T15:04:05.123Z",`+
			`"lowVolumeSwitch":true,"lowVolumeStatusReasons":[{"lowVolStusRsnCd":"CHRG","lowVolStusRsnDesc":"Allowed charges"}],"mipsEligibleSwitch":true},`+
			`"groupScenario":{"isOptInEligible":false,"isOptedIn":null,"optInDecisionDate":null,"lowVolumeSwitch":false,"lowVolumeStatusReasons":[]},"apms":[],"virtualGroups":[]},%s]}`,
			npiFor(i), [3]string{"N", "Q", "R"}[i%3], 1000+i, shared)
	}
	b.WriteString("]}")
	return b.Bytes()
}

// BenchmarkReadDecisions reads valid decision-record documents of 1 MB and
// 100 MB. B/op is the memory a read allocates: the streamed document is
// never held whole, so it is about what the import keeps (determinations,
// elections, one key per participant), not the document's text.
func BenchmarkReadDecisions(b *testing.B) {
	for _, size := range []int{1 << 20, 100 << 20} {
		doc := decisionDocument(size)
		b.Run(strconv.Itoa(size>>20)+"MB", func(b *testing.B) {
			table := eligibility.Default()
			opts := eligibility.ImportOptions{ImportedAt: importedAt}
			b.SetBytes(int64(len(doc)))
			b.ReportAllocs()
			for b.Loop() {
				imp, err := eligibility.ReadDecisions(context.Background(), table, bytes.NewReader(doc), opts)
				if err != nil || imp.Report.Imported == 0 {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkReadNPILookup reads a valid 20 MB v6 lookup.
func BenchmarkReadNPILookup(b *testing.B) {
	doc := lookupDocument(20 << 20)
	py := events.PY(events.MIPS, 2024)
	table := eligibility.Default()
	opts := eligibility.ImportOptions{ImportedAt: importedAt}
	b.SetBytes(int64(len(doc)))
	b.ReportAllocs()
	for b.Loop() {
		imp, err := eligibility.ReadNPILookup(context.Background(), table, py, bytes.NewReader(doc), opts)
		if err != nil || imp.Report.Imported == 0 {
			b.Fatal(err)
		}
	}
}

// TestBenchmarkDocumentsAreValid keeps the benchmarks honest: their
// documents import whole.
func TestBenchmarkDocumentsAreValid(t *testing.T) {
	doc := decisionDocument(64 << 10)
	imp, err := readDecisions(t, doc, eligibility.ImportOptions{})
	if err != nil || imp.Report.Imported != imp.Report.Records || len(imp.Determinations) != imp.Report.Records {
		t.Fatalf("decision document: %v %+v", err, imp.Report)
	}
	doc = lookupDocument(64 << 10)
	imp, err = readLookup(t, 2024, doc, eligibility.ImportOptions{})
	// per clinician: its own practice's two scenarios and its scenario in the
	// shared practice; the shared practice's group scenario once
	if err != nil || imp.Report.Imported != imp.Report.Records || len(imp.Determinations) != 3*imp.Report.Records+1 {
		t.Fatalf("lookup document: %v, %d of %d records, %d determinations", err, imp.Report.Imported, imp.Report.Records, len(imp.Determinations))
	}
}
