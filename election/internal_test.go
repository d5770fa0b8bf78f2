package election

import (
	"testing"

	"github.com/google/uuid"
)

// TestEventIDIsUUIDv5: the allocation-free derivation equals uuid.NewSHA1.
func TestEventIDIsUUIDv5(t *testing.T) {
	for _, cmd := range []uuid.UUID{uuid.Nil, uuid.New(), uuid.New()} {
		for i := range 3 {
			if got, want := eventID(cmd, i), uuid.NewSHA1(cmd, []byte{'e', byte(i)}); got != want {
				t.Fatalf("eventID(%s, %d) = %s, want %s", cmd, i, got, want)
			}
		}
	}
	if n := testing.AllocsPerRun(100, func() { _ = eventID(uuid.Nil, 1) }); n != 0 {
		t.Fatalf("eventID allocates %v times", n)
	}
}
