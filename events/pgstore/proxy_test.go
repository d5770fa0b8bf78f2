package pgstore_test

import (
	"bufio"
	"context"
	"encoding/binary"
	"io"
	"net"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/electionledger/ledger/events"
	"github.com/electionledger/ledger/events/pgstore"
	"github.com/electionledger/ledger/events/pgstore/pgtest"
)

// lossyProxy relays PostgreSQL connections to the server and, when armed,
// loses the answer to the next insert or COMMIT: from the server's report
// of it (CommandComplete) it relays nothing, and when the server says the
// transaction is over (ReadyForQuery) it cuts the connection. The client
// sees a dropped connection and cannot know that its append landed.
type lossyProxy struct {
	ln      net.Listener
	target  string
	armed   atomic.Int32 // commits still to lose
	dropped atomic.Int32 // commits lost
}

func startLossyProxy(t *testing.T) (*lossyProxy, string) {
	t.Helper()
	u, err := url.Parse(pgtest.URL(t))
	if err != nil || u.Scheme == "" || u.Port() == "" {
		t.Skip("the server's connection string is not a TCP URL; the lossy proxy needs one")
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &lossyProxy{ln: ln, target: u.Host}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go p.relay(c)
		}
	}()
	u.Host = ln.Addr().String()
	q := u.Query()
	q.Set("sslmode", "disable") // the proxy reads the protocol in the clear
	u.RawQuery = q.Encode()
	return p, u.String()
}

func (p *lossyProxy) relay(client net.Conn) {
	defer client.Close()
	server, err := net.Dial("tcp", p.target)
	if err != nil {
		return
	}
	defer server.Close()
	go func() {
		_, _ = io.Copy(server, client)
		server.Close()
	}()
	// Every message from the server has a type byte and a length (the
	// proxy asks for no TLS, so there is no one-byte TLS answer).
	r := bufio.NewReader(server)
	losing := false
	for {
		var head [5]byte
		if _, err := io.ReadFull(r, head[:]); err != nil {
			return
		}
		n := binary.BigEndian.Uint32(head[1:])
		if n < 4 || n > 1<<30 {
			return
		}
		body := make([]byte, n-4)
		if _, err := io.ReadFull(r, body); err != nil {
			return
		}
		tag := string(body)
		if !losing && head[0] == 'C' && (tag == "COMMIT\x00" || strings.HasPrefix(tag, "INSERT ")) &&
			p.armed.Load() > 0 && p.armed.Add(-1) >= 0 {
			losing = true // an insert or a commit: hold everything back ...
		}
		if losing {
			if head[0] == 'Z' { // ... until the transaction is over; then cut
				p.dropped.Add(1)
				return
			}
			continue
		}
		if _, err := client.Write(append(head[:], body...)); err != nil {
			return
		}
	}
}

// TestLostCommitAcknowledgement: an append whose COMMIT lands but whose
// answer is lost is retried, and the retry returns the original result
// (recognised by its event IDs) instead of appending twice, or failing on
// an expected revision or a seal that the lost append itself moved.
func TestLostCommitAcknowledgement(t *testing.T) {
	for name, opts := range paths {
		t.Run(name, func(t *testing.T) { testLostCommitAcknowledgement(t, opts...) })
	}
}

func testLostCommitAcknowledgement(t *testing.T, opts ...pgstore.Option) {
	p, via := startLossyProxy(t)
	s, err := pgstore.Open(context.Background(), via, append(opts, pgstore.WithSchema(pgtest.Schema(t)))...)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	ctx := context.Background()
	stream := "election-mips-2024-lossy"
	mustAppend(t, s, stream, events.NoStream, event(0))

	p.armed.Store(1)
	e := event(1)
	res, err := s.Append(ctx, stream, events.Exact(0), e)
	if err != nil {
		t.Fatalf("append whose acknowledgement was lost: %v", err)
	}
	if p.dropped.Load() != 1 {
		t.Fatalf("the proxy lost %d acknowledgements, want 1", p.dropped.Load())
	}
	if res.Revision != 1 {
		t.Fatalf("result %+v, want revision 1", res)
	}

	p.armed.Store(1)
	seal := event(2)
	seal.Type = events.TypeElectionConfirmed
	sealed, err := s.Append(ctx, stream, events.Exact(1), seal)
	if err != nil {
		t.Fatalf("sealing append whose acknowledgement was lost: %v", err)
	}
	if p.dropped.Load() != 2 {
		t.Fatalf("the proxy lost %d acknowledgements, want 2", p.dropped.Load())
	}

	var recs []events.Record
	for r, err := range s.ReadStream(ctx, stream, 0) {
		if err != nil {
			t.Fatal(err)
		}
		recs = append(recs, r)
	}
	if len(recs) != 3 || recs[1].ID != e.ID || recs[2].ID != seal.ID {
		t.Fatalf("the stream holds %d records, want the 3 appended once each", len(recs))
	}
	if recs[1].Position != res.Position || recs[1].Hash != res.Hash || recs[2].Hash != sealed.Hash {
		t.Fatal("the retried appends' results do not name the records that landed")
	}
}
