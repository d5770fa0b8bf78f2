package election

import (
	"sync"
	"testing"

	"github.com/electionledger/ledger/events"
	"github.com/google/uuid"
)

// TestRememberNeverWritesInPlace: consecutive records of one command (a
// virtual group's withdrawal and request share a command ID) replace the
// command's entry in a loaded stream's list without writing into the array
// the state cache shares with other loads. Before the fix, the race
// detector saw this write race with a concurrent reader of the cached entry.
func TestRememberNeverWritesInPlace(t *testing.T) {
	cmd := uuid.New()
	cached := make([]commandRecord, 1, 4) // spare capacity, as the cache's slices have
	cached[0] = commandRecord{id: cmd, typ: events.TypeElectionRequestWithdrawn, revision: 0}
	var wg sync.WaitGroup
	wg.Go(func() {
		for range 1000 {
			_ = cached[0].typ // a reader of the cached entry
		}
	})
	l := loaded{cmds: cached}
	l.remember(commandRecord{id: cmd, typ: events.TypeElectionRequested, revision: 1})
	wg.Wait()
	if cached[0].typ != events.TypeElectionRequestWithdrawn || cached[0].revision != 0 {
		t.Fatalf("the cached entry changed under its readers: %+v", cached[0])
	}
	if len(l.cmds) != 1 || l.cmds[0].typ != events.TypeElectionRequested || l.cmds[0].revision != 1 {
		t.Fatalf("the loaded list: %+v", l.cmds)
	}
}
