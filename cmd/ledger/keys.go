package main

import (
	"bytes"
	"errors"
	"fmt"
	"os"

	"github.com/electionledger/ledger/events"
	"github.com/electionledger/ledger/events/chain"
	"golang.org/x/mod/sumdb/note"
)

// Environment variables the tool reads keys from.
const (
	envLedgerKey  = "ELECTIONLEDGER_KEY"         // the ledger (stream-naming) key
	envSigningKey = "ELECTIONLEDGER_SIGNING_KEY" // a checkpoint signing key
)

var errNoLedgerKey = errors.New("the ledger key is needed to bind each event to its stream: give -key-file or set " + envLedgerKey)

// readSecret reads a key file, without its final line end. The error
// never quotes the file's content.
func readSecret(path string) ([]byte, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	return bytes.TrimRight(b, "\r\n"), nil
}

// ledgerKey returns the stream namer of the ledger key from keyFile, else
// from the environment; nil and errNoLedgerKey when neither gives one.
func (e *env) ledgerKey(keyFile string) (*events.StreamNamer, error) {
	var key []byte
	switch {
	case keyFile != "":
		b, err := readSecret(keyFile)
		if err != nil {
			return nil, fmt.Errorf("-key-file: %w", err)
		}
		key = b
	case e.getenv(envLedgerKey) != "":
		key = []byte(e.getenv(envLedgerKey))
	default:
		return nil, errNoLedgerKey
	}
	n, err := events.NewStreamNamer(key)
	if err != nil {
		return nil, fmt.Errorf("the ledger key: %w", err)
	}
	return n, nil
}

// signer returns the checkpoint signer of the key in file, else in the
// environment.
func (e *env) signer(file string) (note.Signer, error) {
	var key string
	switch {
	case file != "":
		b, err := readSecret(file)
		if err != nil {
			return nil, fmt.Errorf("-sign-key: %w", err)
		}
		key = string(b)
	case e.getenv(envSigningKey) != "":
		key = e.getenv(envSigningKey)
	default:
		return nil, errors.New("a signing key is needed: give -sign-key or set " + envSigningKey + " (make one with ledger keygen)")
	}
	return chain.NewSigner(key)
}

// verifier reads a public verifier key file.
func verifier(file string) (note.Verifier, error) {
	b, err := os.ReadFile(file)
	if err != nil {
		return nil, fmt.Errorf("-pubkey: %w", err)
	}
	return chain.NewVerifier(string(b))
}
