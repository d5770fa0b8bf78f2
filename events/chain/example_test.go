package chain_test

import (
	"fmt"

	"github.com/electionledger/ledger/events"
	"github.com/electionledger/ledger/events/chain"
	"github.com/electionledger/ledger/events/memstore"
)

// A log's operator signs a checkpoint; an auditor keeps it and later
// verifies the log against it, and a confirmation against it offline.
func Example() {
	store := memstore.New()
	defer store.Close()
	recs := season(nil, store, 4) // determinations, then two confirmed elections

	// The operator: a key for the log's origin, and a signed checkpoint.
	private, public, _ := chain.GenerateKey("example.org/ledger")
	signer, _ := chain.NewSigner(private)
	size, root, _ := chain.Head(bg, store)
	signed, _ := chain.Sign(chain.Checkpoint{Origin: "example.org/ledger", Size: size, Root: root}, signer)

	// The auditor holds only the public key and the signed checkpoint.
	verifier, _ := chain.NewVerifier(public)
	cp, err := chain.Open(signed, verifier)
	fmt.Println(cp.Size, err)

	names, _ := events.NewStreamNamer([]byte(events.DevelopmentKey))
	rep, err := chain.Verify(bg, store, chain.VerifyOptions{Names: names, Checkpoints: []chain.Checkpoint{cp}})
	fmt.Println(rep.Records, rep.OK(), err)

	// An elector's confirmation: its record, proved in the checkpoint.
	last := recs[len(recs)-1]
	proof, _ := chain.ProveReceipt(bg, store, &last, int64(last.Position), signed, verifier)
	rec, _, err := proof.Verify(verifier)
	fmt.Println(rec.Type, err)
	// Output:
	// 8 <nil>
	// 8 true <nil>
	// election.confirmed <nil>
}
