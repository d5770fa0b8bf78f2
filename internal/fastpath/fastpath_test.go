package fastpath_test

import (
	"testing"

	"github.com/electionledger/ledger/internal/fastpath"
)

func TestOff(t *testing.T) {
	for value, want := range map[string]bool{"": false, "on": false, "off": true, "OFF": false, "0": false} {
		t.Setenv(fastpath.EnvVar, value)
		if got := fastpath.Off(); got != want {
			t.Errorf("%s=%q: Off() = %v, want %v", fastpath.EnvVar, value, got, want)
		}
	}
}
