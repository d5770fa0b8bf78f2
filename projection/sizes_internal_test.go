package projection

import (
	"testing"
	"unsafe"
)

// TestPackedSizes: the per-participant facts are the sizes the package
// documentation and the types' comments give (the footprint benchmark
// measures the whole).
func TestPackedSizes(t *testing.T) {
	for name, c := range map[string]struct{ got, want uintptr }{
		"slotFacts":   {unsafe.Sizeof(slotFacts{}), 16},
		"statusFacts": {unsafe.Sizeof(statusFacts{}), 120},
		"scoreFacts":  {unsafe.Sizeof(scoreFacts{}), 32},
	} {
		if c.got != c.want {
			t.Errorf("%s is %d bytes; the documentation says %d: update both", name, c.got, c.want)
		}
	}
}
