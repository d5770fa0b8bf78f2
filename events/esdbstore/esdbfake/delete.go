package esdbfake

import (
	"context"
	"time"

	api "github.com/EventStore/EventStore-Client-Go/v4/protos/streams"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
)

// Delete implements a soft delete (Services/Transport/Grpc/
// Streams.Delete.cs:21-62, Delete): the stream's metadata is replaced by
// {"$tb": long.MaxValue}, dropping whatever it held before, ACLs included
// (Services/Storage/StorageWriterService.cs:565-598, WriteDelete: "SOFT
// DELETE" writes new StreamMetadata(truncateBefore: DeletedStream) at
// :588). The
// stream then reads as not found; its events stay in $all until a
// scavenge; an append to it later undeletes it, continuing its numbering.
func (s *Server) Delete(ctx context.Context, req *api.DeleteReq) (*api.DeleteResp, error) {
	s.calls.delete.Add(1)
	o := req.GetOptions()
	name := string(o.GetStreamIdentifier().GetStreamName())
	pos, err := s.deleteStream(ctx, name, deleteExpected(o.GetExpectedStreamRevision()), false)
	if err != nil {
		return nil, err
	}
	return &api.DeleteResp{PositionOption: &api.DeleteResp_Position_{Position: &api.DeleteResp_Position{
		CommitPosition: uint64(pos), PreparePosition: uint64(pos)}}}, nil
}

// Tombstone implements a hard delete: a $streamDeleted event with event
// number long.MaxValue ends the stream for good (Streams.Delete.cs:64-103,
// Tombstone; StorageWriterService.cs:547-564, WriteDelete: "HARD DELETE",
// LogRecord.DeleteTombstone at :559-561). Reads and appends then fail with
// StreamDeleted.
func (s *Server) Tombstone(ctx context.Context, req *api.TombstoneReq) (*api.TombstoneResp, error) {
	s.calls.tombstone.Add(1)
	o := req.GetOptions()
	name := string(o.GetStreamIdentifier().GetStreamName())
	var exp int64 = expectAny
	switch r := o.GetExpectedStreamRevision().(type) {
	case *api.TombstoneReq_Options_NoStream:
		exp = expectNoStream
	case *api.TombstoneReq_Options_StreamExists:
		exp = expectStreamExists
	case *api.TombstoneReq_Options_Revision:
		exp = int64(r.Revision)
	}
	pos, err := s.deleteStream(ctx, name, exp, true)
	if err != nil {
		return nil, err
	}
	return &api.TombstoneResp{PositionOption: &api.TombstoneResp_Position_{Position: &api.TombstoneResp_Position{
		CommitPosition: uint64(pos), PreparePosition: uint64(pos)}}}, nil
}

func deleteExpected(o any) int64 {
	switch r := o.(type) {
	case *api.DeleteReq_Options_NoStream:
		return expectNoStream
	case *api.DeleteReq_Options_StreamExists:
		return expectStreamExists
	case *api.DeleteReq_Options_Revision:
		return int64(r.Revision)
	}
	return expectAny
}

func (s *Server) deleteStream(ctx context.Context, name string, expected int64, hard bool) (int64, error) {
	setTrailer := func(md metadata.MD) error { return grpc.SetTrailer(ctx, md) }
	id, err := s.who(ctx)
	if err != nil {
		return 0, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	d := s.db
	if !id.allowed(d.meta(name, false).acl.delete) || (isSystem(name) && !id.admin) {
		return 0, accessDenied(setTrailer)
	}
	cur := d.lastNumber(name)
	if cur == deletedStream {
		return 0, streamDeletedErr(name, setTrailer)
	}
	// A soft delete of a stream that never existed fails its check
	// (StorageWriterService.cs:568-578); a failed check is
	// RpcExceptions.cs:104-118, WrongExpectedVersion (Streams.Delete.cs:150-152),
	// whose trailers also carry the expected and actual versions, which the
	// double leaves out.
	ok := expected == expectAny || expected == cur || (expected == expectStreamExists && cur >= 0) ||
		(expected == expectNoStream && cur < 0)
	if !ok || (!hard && cur < 0 && d.lastNumber("$$"+name) < 0) {
		_ = setTrailer(metadata.Pairs("exception", "wrong-expected-version", "stream-name", name))
		return 0, status.Errorf(codes.FailedPrecondition, "Delete failed due to WrongExpectedVersion. Stream: %s, Expected version: %d, Actual version: %d", name, expected, cur)
	}
	now := ticks(time.Now())
	var r *record
	if hard {
		r = &record{id: newID(), stream: name, number: deletedStream, typ: "$streamDeleted", created: now}
	} else {
		ms := d.stream("$$" + name)
		r = &record{id: newID(), stream: ms.name, number: ms.last() + 1, typ: "$metadata", json: true, created: now,
			data: []byte(`{"$tb":9223372036854775807}`)}
	}
	d.write(r)
	s.commitLocked()
	return r.pos, nil
}

// Scavenge removes what the server's scavenge removes: the events of
// tombstoned streams (the tombstone stays), events hidden by $tb or
// $maxCount, and every metadata event but the latest
// (TransactionLog/Scavenging/Stages/EventCalculator.cs:47-101, DecideEvent:
// tombstones, then $tb and $maxCount, a metadata stream's $maxCount being
// 1, Settings/ESConsts.cs:17). Their positions stay valid starting points
// for $all reads: a read from one starts at the closest record forward
// (TFChunkReadSide.cs:274-294, TryReadClosestForward). The last record is
// kept, as the active chunk is never scavenged
// (TransactionLog/Scavenging/Stages/ChunkExecutor.cs:212-221: only chunks
// before the scavenge point, all of them complete).
func (s *Server) Scavenge() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	d := s.db
	removed := 0
	for name, st := range d.streams {
		var hideBefore int64
		switch {
		case st.tomb != nil:
			hideBefore = int64(len(st.recs))
		case isMeta(name):
			hideBefore = st.last()
		default:
			m := d.meta(name, true)
			hideBefore = max(m.truncateBefore, 0)
			if m.maxCount >= 0 {
				hideBefore = max(hideBefore, st.last()+1-m.maxCount)
			}
		}
		for _, r := range st.recs[:min(max(hideBefore, 0), int64(len(st.recs)))] {
			if !r.gone && d.isCommitted(r) && r != d.log[d.committed-1] {
				r.gone = true
				removed++
			}
		}
	}
	if d.committed > 0 {
		d.scavenged = d.log[d.committed-1].pos
	}
	return removed
}
