package storeflag

import "testing"

// TestRedact: where an EventStoreDB ledger lives is printed without its
// password.
func TestRedact(t *testing.T) {
	for spec, want := range map[string]string{
		"esdb://admin:changeit@h:2113?tls=true": "esdb://admin:***@h:2113?tls=true",
		"esdb://h:2113":                         "esdb://h:2113",
		"kurrent+discover://u:p%40ss@a,b":       "kurrent+discover://u:***@a,b",
	} {
		if got := redact(spec); got != want {
			t.Errorf("redact(%q) = %q, want %q", spec, got, want)
		}
	}
}
