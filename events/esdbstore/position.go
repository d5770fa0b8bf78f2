package esdbstore

import (
	"github.com/EventStore/EventStore-Client-Go/v4/esdb"
	"github.com/electionledger/ledger/events"
)

// Positions. The server's log positions are byte offsets of records, and
// the server refuses a read or a subscription that starts inside a record
// (see esdbfake's StrictPositions for the server source). The events
// contract, though, lets a reader resume from a record's Position + 1 (a
// checkpoint), which on the server would be inside that record. So the
// store numbers its records at twice the server's position: a record at
// server position p has Position 2p, and 2p+1 names "just after that
// record". Both are exact: every read, page and subscription starts at a
// record's own server position, never at a neighbouring byte. Positions
// still strictly increase in log order, and 0 is the start of the log.
//
// Every record the ledger writes is an append of its own, so its commit
// and prepare positions are equal (an implicit transaction; KurrentDB
// src/KurrentDB.Core/Services/Storage/ReaderIndex/AllReader.cs:114-121,
// ReadAllEventsForwardInternal, at the commit esdbfake's doc.go names).

// ServerPosition returns the server's log position that p names, and
// whether p names the point just after the record there (a checkpoint, as
// Position+1) rather than the record itself.
func ServerPosition(p events.Position) (commit uint64, after bool) {
	return uint64(p) >> 1, p&1 == 1
}

// LedgerPosition returns the Position of the record at the server's log
// position commit.
func LedgerPosition(commit uint64) events.Position { return events.Position(commit << 1) }

// start is where a $all read begins: the server position to ask for, and
// whether the record there is to be skipped (the read is from just after
// it). from 0 is the start of the log.
type start struct {
	pos   esdb.AllPosition
	at    uint64
	after bool
	zero  bool
}

func startAt(from events.Position) start {
	if from == 0 {
		return start{pos: esdb.Start{}, zero: true}
	}
	commit, after := ServerPosition(from)
	return start{pos: esdb.Position{Commit: commit, Prepare: commit}, at: commit, after: after}
}
