package esdbfake

import (
	"errors"
	"io"
	"net"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/EventStore/EventStore-Client-Go/v4/protos/shared"
	api "github.com/EventStore/EventStore-Client-Go/v4/protos/streams"
	"github.com/google/uuid"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

type event struct {
	id       uuid.UUID
	stream   string
	revision uint64
	position uint64
	meta     map[string]string
	custom   []byte
	data     []byte
}

// Server is the Streams double. Its log survives Stop and Start, as a
// server's disk does.
type Server struct {
	api.UnimplementedStreamsServer

	mu      sync.Mutex
	log     []*event
	streams map[string][]*event
	notify  chan struct{}

	dropAcks atomic.Int32 // appends to apply and then fail
	dropSubs atomic.Int32 // events after which a subscription drops (0: never)

	srvMu sync.Mutex
	grpc  *grpc.Server
	addr  string
	subs  sync.WaitGroup
}

// New returns a stopped server with an empty log.
func New() *Server {
	return &Server{streams: map[string][]*event{}, notify: make(chan struct{})}
}

// Start listens on addr ("127.0.0.1:0" picks a port) and serves.
func (s *Server) Start(addr string) error {
	lis, err := net.Listen("tcp", addr)
	if err != nil {
		return err
	}
	g := grpc.NewServer()
	api.RegisterStreamsServer(g, s)
	s.srvMu.Lock()
	s.grpc, s.addr = g, lis.Addr().String()
	s.srvMu.Unlock()
	go func() { _ = g.Serve(lis) }()
	return nil
}

// Run starts a server on a free local port for a test (or benchmark) and
// stops it when the test ends; a failure to start fails the test.
func Run(tb testing.TB) *Server {
	tb.Helper()
	s := New()
	if err := s.Start("127.0.0.1:0"); err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(s.Stop)
	return s
}

// Addr returns the address the server listens (or last listened) on.
func (s *Server) Addr() string {
	s.srvMu.Lock()
	defer s.srvMu.Unlock()
	return s.addr
}

// ConnectionString returns an esdb:// connection string for the server.
func (s *Server) ConnectionString() string {
	return "esdb://" + s.Addr() + "?tls=false&discoveryInterval=20&maxDiscoverAttempts=3&gossipTimeout=1"
}

// Stop drops every connection and stops listening; the log is kept.
func (s *Server) Stop() {
	s.srvMu.Lock()
	g := s.grpc
	s.grpc = nil
	s.srvMu.Unlock()
	if g != nil {
		g.Stop()
	}
}

// DropNextAck makes the next n appends apply and then fail with
// Unavailable, as if the connection dropped before the client saw the ack.
func (s *Server) DropNextAck(n int) { s.dropAcks.Store(int32(n)) }

// DropSubscriptionsAfter makes every subscription drop (Unavailable) after
// delivering n events; 0 turns it off.
func (s *Server) DropSubscriptionsAfter(n int) { s.dropSubs.Store(int32(n)) }

// Len returns how many events the log holds, system streams included.
func (s *Server) Len() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.log)
}

// positionStep spaces positions: real positions are byte offsets.
const positionStep = 137

func ticks(t time.Time) string { return strconv.FormatInt(t.UnixNano()/100, 10) }

func toUUID(id *shared.UUID) (uuid.UUID, error) {
	if st := id.GetStructured(); st != nil {
		var u uuid.UUID
		for i := range 8 {
			u[i] = byte(uint64(st.MostSignificantBits) >> (56 - 8*i))
			u[8+i] = byte(uint64(st.LeastSignificantBits) >> (56 - 8*i))
		}
		return u, nil
	}
	return uuid.Parse(id.GetString_())
}

func fromUUID(u uuid.UUID) *shared.UUID {
	var most, least uint64
	for i := range 8 {
		most = most<<8 | uint64(u[i])
		least = least<<8 | uint64(u[8+i])
	}
	return &shared.UUID{Value: &shared.UUID_Structured_{Structured: &shared.UUID_Structured{
		MostSignificantBits: int64(most), LeastSignificantBits: int64(least)}}}
}

// Append implements the Streams service's Append.
func (s *Server) Append(srv api.Streams_AppendServer) error {
	first, err := srv.Recv()
	if err != nil {
		return err
	}
	opts := first.GetOptions()
	if opts == nil {
		return status.Error(codes.InvalidArgument, "the first message must carry the options")
	}
	stream := string(opts.GetStreamIdentifier().GetStreamName())
	var proposed []*api.AppendReq_ProposedMessage
	for {
		m, err := srv.Recv()
		if err != nil {
			if errors.Is(err, io.EOF) {
				break
			}
			return err
		}
		if p := m.GetProposedMessage(); p != nil {
			proposed = append(proposed, p)
		}
	}
	ids := make([]uuid.UUID, len(proposed))
	for i, p := range proposed {
		if ids[i], err = toUUID(p.GetId()); err != nil {
			return status.Error(codes.InvalidArgument, "bad event id")
		}
	}

	s.mu.Lock()
	evs := s.streams[stream]
	current := int64(len(evs)) - 1
	success := func(last uint64, pos uint64) *api.AppendResp {
		return &api.AppendResp{Result: &api.AppendResp_Success_{Success: &api.AppendResp_Success{
			CurrentRevisionOption: &api.AppendResp_Success_CurrentRevision{CurrentRevision: last},
			PositionOption: &api.AppendResp_Success_Position{Position: &api.AppendResp_Position{
				CommitPosition: pos, PreparePosition: pos}}}}}
	}
	// Idempotency as the server has it: events already written, in order,
	// at the expected place, are acknowledged and not written again.
	if len(ids) > 0 {
		for i, e := range evs {
			if e.id != ids[0] || i+len(ids) > len(evs) {
				continue
			}
			same := true
			for k := range ids {
				same = same && evs[i+k].id == ids[k]
			}
			if same {
				last := evs[i+len(ids)-1]
				s.mu.Unlock()
				return srv.SendAndClose(success(last.revision, last.position))
			}
		}
	}
	ok := true
	var expected *api.AppendResp_WrongExpectedVersion
	switch r := opts.GetExpectedStreamRevision().(type) {
	case *api.AppendReq_Options_NoStream:
		ok = current < 0
		expected = &api.AppendResp_WrongExpectedVersion{ExpectedRevisionOption: &api.AppendResp_WrongExpectedVersion_ExpectedNoStream{ExpectedNoStream: &shared.Empty{}}}
	case *api.AppendReq_Options_StreamExists:
		ok = current >= 0
		expected = &api.AppendResp_WrongExpectedVersion{ExpectedRevisionOption: &api.AppendResp_WrongExpectedVersion_ExpectedStreamExists{ExpectedStreamExists: &shared.Empty{}}}
	case *api.AppendReq_Options_Revision:
		ok = current == int64(r.Revision)
		expected = &api.AppendResp_WrongExpectedVersion{ExpectedRevisionOption: &api.AppendResp_WrongExpectedVersion_ExpectedRevision{ExpectedRevision: r.Revision}}
	}
	if !ok {
		if current < 0 {
			expected.CurrentRevisionOption = &api.AppendResp_WrongExpectedVersion_CurrentNoStream{CurrentNoStream: &shared.Empty{}}
		} else {
			expected.CurrentRevisionOption = &api.AppendResp_WrongExpectedVersion_CurrentRevision{CurrentRevision: uint64(current)}
		}
		s.mu.Unlock()
		return srv.SendAndClose(&api.AppendResp{Result: &api.AppendResp_WrongExpectedVersion_{WrongExpectedVersion: expected}})
	}
	now := time.Now()
	var last *event
	for i, p := range proposed {
		meta := map[string]string{}
		for k, v := range p.GetMetadata() {
			meta[k] = v
		}
		meta["created"] = ticks(now)
		last = &event{id: ids[i], stream: stream, revision: uint64(len(s.streams[stream])),
			position: uint64(len(s.log)+1) * positionStep, meta: meta,
			custom: append([]byte(nil), p.GetCustomMetadata()...), data: append([]byte(nil), p.GetData()...)}
		s.log = append(s.log, last)
		s.streams[stream] = append(s.streams[stream], last)
	}
	close(s.notify)
	s.notify = make(chan struct{})
	s.mu.Unlock()
	if s.dropAcks.Load() > 0 && s.dropAcks.Add(-1) >= 0 {
		return status.Error(codes.Unavailable, "esdbfake: connection dropped after the append was applied")
	}
	if last == nil {
		return srv.SendAndClose(success(uint64(max(current, 0)), 0))
	}
	return srv.SendAndClose(success(last.revision, last.position))
}

func readEvent(e *event) *api.ReadResp {
	return &api.ReadResp{Content: &api.ReadResp_Event{Event: &api.ReadResp_ReadEvent{
		Event: &api.ReadResp_ReadEvent_RecordedEvent{
			Id: fromUUID(e.id), StreamIdentifier: &shared.StreamIdentifier{StreamName: []byte(e.stream)},
			StreamRevision: e.revision, PreparePosition: e.position, CommitPosition: e.position,
			Metadata: e.meta, CustomMetadata: e.custom, Data: e.data,
		},
		Position: &api.ReadResp_ReadEvent_CommitPosition{CommitPosition: e.position},
	}}}
}

// Read implements the Streams service's Read: stream reads, $all reads and
// $all subscriptions.
func (s *Server) Read(req *api.ReadReq, srv api.Streams_ReadServer) error {
	o := req.GetOptions()
	if o.GetSubscription() != nil {
		return s.subscribe(o, srv)
	}
	count := o.GetCount()
	backwards := o.GetReadDirection() == api.ReadReq_Options_Backwards
	s.mu.Lock()
	var out []*event
	if st := o.GetStream(); st != nil {
		name := string(st.GetStreamIdentifier().GetStreamName())
		evs, ok := s.streams[name]
		if !ok {
			s.mu.Unlock()
			return srv.Send(&api.ReadResp{Content: &api.ReadResp_StreamNotFound_{StreamNotFound: &api.ReadResp_StreamNotFound{
				StreamIdentifier: &shared.StreamIdentifier{StreamName: []byte(name)}}}})
		}
		switch {
		case backwards:
			from := int64(len(evs)) - 1
			if r, ok := st.GetRevisionOption().(*api.ReadReq_Options_StreamOptions_Revision); ok {
				from = min(from, int64(r.Revision))
			}
			for i := from; i >= 0 && uint64(len(out)) < count; i-- {
				out = append(out, evs[i])
			}
		default:
			from := uint64(0)
			if r, ok := st.GetRevisionOption().(*api.ReadReq_Options_StreamOptions_Revision); ok {
				from = r.Revision
			}
			for i := from; i < uint64(len(evs)) && uint64(len(out)) < count; i++ {
				out = append(out, evs[i])
			}
		}
	} else if all := o.GetAll(); all != nil {
		from := uint64(0)
		if p := all.GetPosition(); p != nil {
			from = p.CommitPosition
		}
		for _, e := range s.log {
			if e.position >= from && uint64(len(out)) < count {
				out = append(out, e)
			}
		}
	}
	s.mu.Unlock()
	for _, e := range out {
		if err := srv.Send(readEvent(e)); err != nil {
			return err
		}
	}
	return nil
}

func (s *Server) subscribe(o *api.ReadReq_Options, srv api.Streams_ReadServer) error {
	s.subs.Add(1)
	defer s.subs.Done()
	if err := srv.Send(&api.ReadResp{Content: &api.ReadResp_Confirmation{Confirmation: &api.ReadResp_SubscriptionConfirmation{
		SubscriptionId: uuid.NewString()}}}); err != nil {
		return err
	}
	// Subscribing from a position delivers what comes after it.
	after, hasAfter := uint64(0), false
	if p := o.GetAll().GetPosition(); p != nil {
		after, hasAfter = p.CommitPosition, true
	}
	var prefixes []string
	excludeSystem := false
	if f := o.GetFilter(); f != nil {
		if e := f.GetStreamIdentifier(); e != nil {
			prefixes = e.GetPrefix()
		}
		if e := f.GetEventType(); e != nil && e.GetRegex() != "" {
			excludeSystem = true
		}
	}
	accept := func(e *event) bool {
		if excludeSystem && strings.HasPrefix(e.meta["type"], "$") {
			return false
		}
		if len(prefixes) == 0 {
			return true
		}
		for _, p := range prefixes {
			if strings.HasPrefix(e.stream, p) {
				return true
			}
		}
		return false
	}
	next, sent, caughtUp := 0, 0, false
	for {
		s.mu.Lock()
		var batch []*event
		for ; next < len(s.log); next++ {
			e := s.log[next]
			if (!hasAfter || e.position > after) && accept(e) {
				batch = append(batch, e)
			}
		}
		wait := s.notify
		s.mu.Unlock()
		for _, e := range batch {
			if n := s.dropSubs.Load(); n > 0 && sent >= int(n) {
				return status.Error(codes.Unavailable, "esdbfake: subscription dropped")
			}
			if err := srv.Send(readEvent(e)); err != nil {
				return err
			}
			sent++
		}
		if !caughtUp {
			caughtUp = true
			if err := srv.Send(&api.ReadResp{Content: &api.ReadResp_CaughtUp_{CaughtUp: &api.ReadResp_CaughtUp{}}}); err != nil {
				return err
			}
		}
		select {
		case <-wait:
		case <-srv.Context().Done():
			return srv.Context().Err()
		}
	}
}
