package esdbfake

import (
	"encoding/json"
	"errors"
	"io"
	"strconv"
	"time"

	"github.com/EventStore/EventStore-Client-Go/v4/protos/shared"
	api "github.com/EventStore/EventStore-Client-Go/v4/protos/streams"
	"github.com/google/uuid"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
)

// Expected versions as the server numbers them
// (Data/ExpectedVersion.cs:7-12).
const (
	expectAny          = -2
	expectNoStream     = -1
	expectStreamExists = -4
)

// decision is IndexWriter.CheckCommit's verdict (a CommitDecision,
// Services/Storage/ReaderIndex/CommitDecision.cs:6, with
// streamDeleted standing for the request manager's StreamDeleted answer).
type decision int

const (
	commitOK decision = iota
	consistencyFailure
	idempotent
	idempotentNotReady
	corruptedIdempotency
	streamDeleted
)

// proposed is an event an append carries.
type proposed struct {
	id     uuid.UUID
	typ    string
	json   bool
	data   []byte
	custom []byte
}

// Append implements the Streams service's Append
// (Services/Transport/Grpc/Streams.Append.cs:21-196, Append).
func (s *Server) Append(srv api.Streams_AppendServer) error {
	s.calls.append.Add(1)
	opts, evs, err := receiveAppend(srv)
	if err != nil {
		return err
	}
	setTrailer := func(md metadata.MD) error { srv.SetTrailer(md); return nil }
	name := string(opts.GetStreamIdentifier().GetStreamName())
	expected := expectedVersion(opts)
	id, err := s.who(srv.Context())
	if err != nil {
		return err
	}

	s.mu.Lock()
	if !s.may(id, name, true) {
		s.mu.Unlock()
		return accessDenied(setTrailer)
	}
	// A follower answers the write, read whole, with the leader's address
	// (Streams.Append.cs:53-98 reads every message and publishes the write;
	// a follower denies it, Services/VNode/ClusterVNodeController.cs:918-929,
	// DenyRequestBecauseNotLeader; Streams.Append.cs:103-106 turns that into
	// RpcExceptions.cs:25-30, LeaderInfo), after checking the caller's access
	// (Streams.Append.cs:44-47).
	if err, ok := s.notLeaderErr(setTrailer); ok {
		s.mu.Unlock()
		return err
	}
	d := s.db
	cur := d.lastNumber(name)
	dec, last64 := s.checkCommit(name, expected, cur, evs)
	switch dec {
	case streamDeleted:
		s.mu.Unlock()
		return streamDeletedErr(name, setTrailer)
	case consistencyFailure, corruptedIdempotency:
		s.mu.Unlock()
		return srv.SendAndClose(wrongExpected(opts, expected, cur))
	case idempotent:
		// AlreadyCommitted: the original reply, naming the last event's
		// position (IndexWriter.cs:245-254, CheckCommit, reads it;
		// StorageWriterService.cs:815-843, VerifyCommitChecks;
		// Services/RequestManager/Managers/RequestManagerBase.cs:191-208,
		// Handle(AlreadyCommitted) and ReturnCommitAt).
		r := d.streams[name].recs[last64]
		s.mu.Unlock()
		return srv.SendAndClose(success(uint64(last64), r.pos))
	case idempotentNotReady:
		// "just drop the write and wait for the client to retry"
		// (StorageWriterService.cs:789-797, VerifyCommitChecks): the request
		// manager times out.
		s.mu.Unlock()
		return s.timeout(srv.Context())
	}
	if len(evs) == 0 {
		end := d.committedEnd()
		s.mu.Unlock()
		return srv.SendAndClose(success(uint64(max(cur, 0)), end))
	}
	last := s.writeLocked(name, cur, evs)
	s.mu.Unlock()
	return s.acknowledge(srv, last)
}

// receiveAppend reads an append's messages: the options first, then the
// proposed events until the client closes its side.
func receiveAppend(srv api.Streams_AppendServer) (*api.AppendReq_Options, []proposed, error) {
	first, err := srv.Recv()
	if err != nil {
		return nil, nil, err
	}
	opts := first.GetOptions()
	if opts == nil {
		return nil, nil, status.Error(codes.InvalidArgument, "the first message must carry the options")
	}
	var evs []proposed
	for {
		m, err := srv.Recv()
		if errors.Is(err, io.EOF) {
			return opts, evs, nil
		}
		if err != nil {
			return nil, nil, err
		}
		p := m.GetProposedMessage()
		if p == nil {
			continue
		}
		id, err := toUUID(p.GetId())
		if err != nil {
			return nil, nil, status.Error(codes.InvalidArgument, "bad event id")
		}
		evs = append(evs, proposed{id: id, typ: p.GetMetadata()["type"], json: p.GetMetadata()["content-type"] == "application/json",
			data: append([]byte(nil), p.GetData()...), custom: append([]byte(nil), p.GetCustomMetadata()...)})
	}
}

// expectedVersion is the append's expected revision as the server numbers
// it: expectAny unless the options name another.
func expectedVersion(opts *api.AppendReq_Options) int64 {
	switch r := opts.GetExpectedStreamRevision().(type) {
	case *api.AppendReq_Options_NoStream:
		return expectNoStream
	case *api.AppendReq_Options_StreamExists:
		return expectStreamExists
	case *api.AppendReq_Options_Revision:
		return int64(r.Revision)
	}
	return expectAny
}

// writeLocked writes evs to the stream after event number cur, undeletes
// the stream if it was soft-deleted, commits what the log holds (unless
// commits are stalled) and returns the last record written. s.mu is held.
func (s *Server) writeLocked(name string, cur int64, evs []proposed) *record {
	d := s.db
	undelete := d.softDeleted(name) && !isMeta(name)
	// Metadata written to a soft-deleted stream's metadata stream
	// undeletes the stream too, its old events kept hidden (below).
	undeleteMeta := isMeta(name) && d.softDeleted(name[2:])
	now := ticks(time.Now())
	var last *record
	for i, e := range evs {
		last = &record{id: e.id, stream: name, number: cur + 1 + int64(i), typ: e.typ, json: e.json, created: now,
			data: e.data, custom: e.custom}
		d.write(last)
		// PreCommit: the IDs enter the committed-events cache as soon as
		// the prepares are written (StorageWriterService.cs:412-419;
		// IndexWriter.cs:362-381, PreCommit).
		d.ids.put(e.id, eventInfo{stream: name, number: last.number})
	}
	if undelete {
		d.undelete(name, cur+1, now)
	}
	if target := name[min(2, len(name)):]; undeleteMeta && !d.softDeleted(target) {
		d.undelete(target, d.lastNumber(target)+1, now)
	}
	s.commitLocked()
	return last
}

// undelete is what writing to a soft-deleted stream does: its metadata
// gets $tb = firstNew, the first new event number, the rest kept
// (StorageWriterService.cs:421-434, WritePrepares, calling :476-499,
// SoftUndeleteStream, and :501-516, ModifyMetadata). The server also
// undeletes a soft-deleted stream when the write is to its metadata stream
// (StorageWriterService.cs:430-432, calling :469-474,
// SoftUndeleteMetastream: $tb becomes the stream's last event number + 1,
// over the metadata just written), and so does the double: metadata
// written without a $tb does not show the old events again.
func (d *db) undelete(name string, firstNew, now int64) {
	m := d.meta(name, false)
	raw := map[string]json.RawMessage{}
	for k, v := range m.raw {
		raw[k] = v
	}
	raw["$tb"] = json.RawMessage(strconv.FormatInt(firstNew, 10))
	b, _ := json.Marshal(raw)
	ms := d.stream("$$" + name)
	d.write(&record{id: newID(), stream: ms.name, number: ms.last() + 1, typ: "$metadata", json: true, created: now, data: b})
}

// acknowledge answers a written append once last is committed: a timeout
// if the commit does not come in time, a dropped connection if the test
// asked for one, else the success reply.
func (s *Server) acknowledge(srv api.Streams_AppendServer, last *record) error {
	if !s.awaitCommit(srv.Context(), last) {
		return s.timeout(srv.Context())
	}
	if s.dropAcks.Load() > 0 && s.dropAcks.Add(-1) >= 0 {
		return status.Error(codes.Unavailable, "esdbfake: connection dropped after the append was applied")
	}
	// The reply names the last event's position as both commit and prepare
	// position: CommitChased carries the TransactionEnd prepare's
	// LogPosition (Services/Storage/StorageChaser.cs:194-208,
	// ProcessPrepareRecord) and WriteEvents replies (CommitPosition,
	// CommitPosition) (Services/RequestManager/Managers/WriteEvents.cs:85-91,
	// ClientSuccessMsg).
	return srv.SendAndClose(success(uint64(last.number), last.pos))
}

// may applies a stream's ACL to a write (or a read): $w or $r, and $mw or
// $mr for its metadata stream; only admins reach other system streams
// (Data/SystemSettings.cs:14-17, SystemSettings.Default.SystemStreamAcl;
// Services/Storage/ReaderIndex/IndexReader.cs:772-789, GetEffectiveAcl).
// A write checks the writer's
// view of the metadata, a read the readers'.
func (s *Server) may(id identity, name string, write bool) bool {
	switch {
	case isMeta(name):
		a := s.db.meta(name[2:], !write).acl
		return id.allowed(pick(write, a.metaWrite, a.metaRead))
	case isSystem(name):
		return id.admin
	}
	a := s.db.meta(name, !write).acl
	return id.allowed(pick(write, a.write, a.read))
}

func pick(write bool, w, r []string) []string {
	if write {
		return w
	}
	return r
}

// checkCommit is IndexWriter.CheckCommit for one stream
// (Services/Storage/ReaderIndex/IndexWriter.cs:163-325). It returns
// the decision and, for an idempotent write, the last event number found.
func (s *Server) checkCommit(name string, expected, cur int64, evs []proposed) (decision, int64) {
	d := s.db
	if cur == deletedStream {
		// "we're trying to append events to the hard deleted stream"
		// (IndexWriter.cs:170-174); the request manager answers
		// StreamDeleted (RequestManagerBase.cs:169-190,
		// Handle(ConsistencyChecksFailed): tombstoned).
		return streamDeleted, -1
	}
	// StreamExists: a soft-deleted stream fails the check and is answered
	// StreamDeleted (IndexWriter.cs:187-189; RequestManagerBase.cs:183-184);
	// a stream that never had an event needs metadata (IndexWriter.cs:191-195).
	if expected == expectStreamExists {
		if d.softDeleted(name) {
			return streamDeleted, -1
		}
		if cur < 0 && d.lastNumber("$$"+name) < 0 {
			return consistencyFailure, -1
		}
	}
	if !s.cfg.behaviours.ServerIdempotency {
		return s.lenientCheck(name, expected, cur, evs)
	}
	// Weak idempotency: only the committed-events cache is consulted
	// (IndexWriter.cs:198-255).
	if expected == expectAny || expected == expectStreamExists {
		end := int64(-1)
		for i, e := range evs {
			if info, ok := d.ids.get(e.id); ok && info.stream == name {
				end = info.number
				continue
			}
			if i > 0 {
				return corruptedIdempotency, -1
			}
			return commitOK, -1
		}
		if len(evs) == 0 {
			return commitOK, -1
		}
		return s.replicated(name, end), end
	}
	// Strong idempotency: the request says where the events must be; the
	// cache, then the index (IndexWriter.cs:257-317).
	if expected < cur {
		n := expected
		st := d.streams[name]
		for i, e := range evs {
			n++
			if info, ok := d.ids.get(e.id); ok && info.stream == name && info.number == n {
				continue
			}
			if st != nil && n <= st.last() && st.recs[n].id == e.id {
				continue
			}
			if i > 0 {
				return corruptedIdempotency, -1
			}
			if expected == expectNoStream && d.softDeleted(name) {
				return commitOK, -1
			}
			return consistencyFailure, -1
		}
		if len(evs) == 0 {
			return consistencyFailure, -1
		}
		return s.replicated(name, n), n
	}
	if expected > cur {
		return consistencyFailure, -1
	}
	// expected == cur: writing exactly at the end. No event ID is checked
	// (IndexWriter.cs:323-324; past the end fails, :319-321).
	return commitOK, -1
}

// replicated is Idempotent when the event at end is committed, else
// IdempotentNotReady (IndexWriter.cs:244 and :302: the readers' last event
// number has reached it).
func (s *Server) replicated(name string, end int64) decision {
	st := s.db.streams[name]
	if st != nil && end <= st.last() && s.db.isCommitted(st.recs[end]) {
		return idempotent
	}
	return idempotentNotReady
}

// lenientCheck is what the double did before it carried the server's
// checks: the append's IDs anywhere in the stream, in order, are an
// idempotent write whatever the expected revision.
func (s *Server) lenientCheck(name string, expected, cur int64, evs []proposed) (decision, int64) {
	if st := s.db.streams[name]; st != nil && len(evs) > 0 {
		for i := range st.recs {
			if st.recs[i].id != evs[0].id || i+len(evs) > len(st.recs) {
				continue
			}
			same := true
			for k := range evs {
				same = same && st.recs[i+k].id == evs[k].id
			}
			if same {
				return idempotent, int64(i + len(evs) - 1)
			}
		}
	}
	switch {
	case expected == expectAny, expected == expectStreamExists && cur >= 0, expected == cur:
		return commitOK, -1
	}
	return consistencyFailure, -1
}

// awaitCommit waits until r is committed, for at most the write timeout.
func (s *Server) awaitCommit(ctx interface{ Done() <-chan struct{} }, r *record) bool {
	deadline := time.NewTimer(s.cfg.writeTimeout)
	defer deadline.Stop()
	for {
		s.mu.Lock()
		ok := s.db.isCommitted(r)
		wait := s.notify
		s.mu.Unlock()
		if ok {
			return true
		}
		select {
		case <-wait:
		case <-deadline.C:
			return false
		case <-ctx.Done():
			return false
		}
	}
}

// timeout answers after the write timeout, as the request manager does
// when the commit has not come: Aborted "Operation timed out: ..."
// (RequestManagerBase.cs:158-165, Handle(RequestManagerTimerTick);
// Streams.Append.cs:137-140: CommitTimeout → RpcExceptions.cs:14,
// Timeout).
func (s *Server) timeout(ctx interface{ Done() <-chan struct{} }) error {
	t := time.NewTimer(s.cfg.writeTimeout)
	defer t.Stop()
	select {
	case <-t.C:
	case <-ctx.Done():
	}
	return status.Error(codes.Aborted, "Operation timed out: Commit phase timeout.")
}

// streamDeletedErr is RpcExceptions.StreamDeleted (RpcExceptions.cs:70-75):
// FailedPrecondition with the stream's name in the trailers, which the
// client turns into ErrorCodeStreamDeleted (esdb/impl.go:65-68,
// handleError).
func streamDeletedErr(name string, setTrailer func(metadata.MD) error) error {
	_ = setTrailer(metadata.Pairs("exception", "stream-deleted", "stream-name", name))
	return status.Error(codes.FailedPrecondition, "Event stream '"+name+"' is deleted.")
}

func success(rev uint64, pos int64) *api.AppendResp {
	return &api.AppendResp{Result: &api.AppendResp_Success_{Success: &api.AppendResp_Success{
		CurrentRevisionOption: &api.AppendResp_Success_CurrentRevision{CurrentRevision: rev},
		PositionOption: &api.AppendResp_Success_Position{Position: &api.AppendResp_Position{
			CommitPosition: uint64(pos), PreparePosition: uint64(pos)}}}}}
}

// wrongExpected is the WrongExpectedVersion reply (Streams.Append.cs:142-177,
// HandleWriteEventsCompleted).
func wrongExpected(opts *api.AppendReq_Options, expected, cur int64) *api.AppendResp {
	w := &api.AppendResp_WrongExpectedVersion{}
	switch expected {
	case expectAny:
		w.ExpectedRevisionOption = &api.AppendResp_WrongExpectedVersion_ExpectedAny{ExpectedAny: &shared.Empty{}}
	case expectNoStream:
		w.ExpectedRevisionOption = &api.AppendResp_WrongExpectedVersion_ExpectedNoStream{ExpectedNoStream: &shared.Empty{}}
	case expectStreamExists:
		w.ExpectedRevisionOption = &api.AppendResp_WrongExpectedVersion_ExpectedStreamExists{ExpectedStreamExists: &shared.Empty{}}
	default:
		w.ExpectedRevisionOption = &api.AppendResp_WrongExpectedVersion_ExpectedRevision{ExpectedRevision: uint64(expected)}
	}
	if cur < 0 {
		w.CurrentRevisionOption = &api.AppendResp_WrongExpectedVersion_CurrentNoStream{CurrentNoStream: &shared.Empty{}}
	} else {
		w.CurrentRevisionOption = &api.AppendResp_WrongExpectedVersion_CurrentRevision{CurrentRevision: uint64(cur)}
	}
	_ = opts
	return &api.AppendResp{Result: &api.AppendResp_WrongExpectedVersion_{WrongExpectedVersion: w}}
}

func newID() uuid.UUID { return uuid.New() }

func ticks(t time.Time) int64 { return t.UnixNano() / 100 }

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
