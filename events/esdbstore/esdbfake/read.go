package esdbfake

import (
	"regexp"
	"strconv"
	"strings"

	"github.com/EventStore/EventStore-Client-Go/v4/protos/shared"
	api "github.com/EventStore/EventStore-Client-Go/v4/protos/streams"
	"github.com/google/uuid"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
)

// Read implements the Streams service's Read: stream reads, $all reads and
// $all subscriptions (Services/Transport/Grpc/Streams.Read.cs:99-195,
// CreateEnumerator).
func (s *Server) Read(req *api.ReadReq, srv api.Streams_ReadServer) error {
	o := req.GetOptions()
	setTrailer := func(md metadata.MD) error { srv.SetTrailer(md); return nil }
	id, err := s.who(srv.Context())
	if err != nil {
		return err
	}
	if o.GetSubscription() != nil {
		s.calls.subscribe.Add(1)
		if o.GetAll() == nil {
			return status.Error(codes.Unimplemented, "esdbfake: stream subscriptions are not implemented")
		}
		if !s.mayReadAll(id) {
			return accessDenied(setTrailer)
		}
		return s.subscribe(o, srv)
	}
	if st := o.GetStream(); st != nil {
		s.calls.readStream.Add(1)
		return s.readStream(id, st, o, srv, setTrailer)
	}
	s.calls.readAll.Add(1)
	if !s.mayReadAll(id) {
		return accessDenied(setTrailer)
	}
	return s.readAll(o, srv)
}

// mayReadAll: $all is a system stream; by default only admins read it,
// unless $$$all's ACL grants it (Data/SystemSettings.cs:14-17,
// SystemSettings.Default.SystemStreamAcl; Services/Storage/ReaderIndex/
// IndexReader.cs:772-789, GetEffectiveAcl: the stream's ACL, else the
// system streams').
func (s *Server) mayReadAll(id identity) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if r := s.db.meta("$all", true).acl.read; r != nil {
		return id.allowed(r)
	}
	return id.admin
}

func (s *Server) readStream(id identity, st *api.ReadReq_Options_StreamOptions, o *api.ReadReq_Options,
	srv api.Streams_ReadServer, setTrailer func(metadata.MD) error) error {
	name := string(st.GetStreamIdentifier().GetStreamName())
	count := o.GetCount()
	backwards := o.GetReadDirection() == api.ReadReq_Options_Backwards
	s.mu.Lock()
	if !s.may(id, name, false) {
		s.mu.Unlock()
		return accessDenied(setTrailer)
	}
	recs, exists, tomb := s.db.visible(name)
	var out []*record
	switch {
	case tomb:
		// Services/Transport/Enumerators/Enumerator.ReadStreamForwards.cs:138-139:
		// StreamDeleted → Streams.Read.cs:363-364 → RpcExceptions.cs:70-75,
		// StreamDeleted.
		s.mu.Unlock()
		return streamDeletedErr(name, setTrailer)
	case !exists:
		s.mu.Unlock()
		return srv.Send(&api.ReadResp{Content: &api.ReadResp_StreamNotFound_{StreamNotFound: &api.ReadResp_StreamNotFound{
			StreamIdentifier: &shared.StreamIdentifier{StreamName: []byte(name)}}}})
	case backwards:
		from := int64(deletedStream)
		if r, ok := st.GetRevisionOption().(*api.ReadReq_Options_StreamOptions_Revision); ok {
			from = int64(r.Revision)
		}
		for i := len(recs) - 1; i >= 0 && uint64(len(out)) < count; i-- {
			if recs[i].number <= from {
				out = append(out, recs[i])
			}
		}
	default:
		from := int64(0)
		if r, ok := st.GetRevisionOption().(*api.ReadReq_Options_StreamOptions_Revision); ok {
			from = int64(r.Revision)
		}
		for _, r := range recs {
			if r.number >= from && uint64(len(out)) < count {
				out = append(out, r)
			}
		}
	}
	s.mu.Unlock()
	return send(srv, out)
}

// send sends the events of a read.
func send(srv api.Streams_ReadServer, out []*record) error {
	for _, r := range out {
		if err := srv.Send(readEvent(r)); err != nil {
			return err
		}
	}
	return nil
}

// start finds where a $all read or subscription from (commit, prepare)
// begins: the index of the first committed record to consider, or -1 with
// an error for a position inside a record. Positions at or past the end
// of what is committed read nothing (Services/Storage/ReaderIndex/
// AllReader.cs:87-90, ReadAllEventsForwardInternal: "nextCommitPos >
// _indexCommitter.LastIndexedPosition" → end of stream). In scavenged
// chunks a position is translated to the closest record forward
// (TransactionLog/Chunks/TFChunk/TFChunkReadSide.cs:274-294,
// TFChunkReadSideScavenged.TryReadClosestForward).
func (s *Server) start(commit int64) (int, bool) {
	d := s.db
	if commit >= d.committedEnd() {
		return d.committed, true
	}
	if i := d.at(commit); i >= 0 {
		return i, true
	}
	if commit == 0 { // the chunk's first record, which the double does not keep
		return 0, true
	}
	if commit < d.scavenged || !s.cfg.behaviours.StrictPositions {
		return d.closest(commit), true
	}
	return -1, false
}

// readAll serves a forward $all read without a filter
// (Services/Transport/Enumerators/Enumerator.ReadAllForwards.cs:70-120,
// ReadPage and its reply: pages of up to the count asked;
// AllReader.cs:114-121, ReadAllEventsForwardInternal: records with
// TFPos(pos, pos) >= the requested position).
func (s *Server) readAll(o *api.ReadReq_Options, srv api.Streams_ReadServer) error {
	if o.GetReadDirection() == api.ReadReq_Options_Backwards {
		return status.Error(codes.Unimplemented, "esdbfake: backwards $all reads are not implemented")
	}
	if o.GetFilter() != nil {
		return status.Error(codes.Unimplemented, "esdbfake: filtered $all reads are not implemented")
	}
	count := o.GetCount()
	commit, prepare := int64(-1), int64(-1)
	if p := o.GetAll().GetPosition(); p != nil {
		commit, prepare = int64(p.CommitPosition), int64(p.PreparePosition)
	}
	s.mu.Lock()
	i := 0
	if commit >= 0 {
		var ok bool
		if i, ok = s.start(commit); !ok {
			s.mu.Unlock()
			return status.Error(codes.Unknown, "Unexpected ReadAllResult: InvalidPosition >> Error while reading log record forwards at actual position "+
				strconv.FormatInt(commit, 10)+". Prefix/suffix length inconsistency")
		}
	}
	var out []*record
	for ; i < s.db.committed && uint64(len(out)) < count; i++ {
		r := s.db.log[i]
		if r.gone || (commit >= 0 && !after(r.pos, r.pos, commit, prepare, true)) {
			continue
		}
		out = append(out, r)
	}
	s.mu.Unlock()
	return send(srv, out)
}

// after reports whether TFPos(c, p) is after TFPos(fc, fp), or equal when
// inclusive.
func after(c, p, fc, fp int64, inclusive bool) bool {
	if c != fc {
		return c > fc
	}
	if inclusive {
		return p >= fp
	}
	return p > fp
}

// filter is a subscription's server-side filter.
type filter struct {
	onType   bool
	prefixes []string
	re       *regexp.Regexp
}

func (f *filter) accepts(r *record) bool {
	if f == nil {
		return true
	}
	v := r.stream
	if f.onType {
		v = r.typ
	}
	if f.re != nil {
		return f.re.MatchString(v)
	}
	for _, p := range f.prefixes {
		if strings.HasPrefix(v, p) {
			return true
		}
	}
	return len(f.prefixes) == 0
}

func parseFilter(o *api.ReadReq_Options) (*filter, error) {
	fo := o.GetFilter()
	if fo == nil {
		return nil, nil
	}
	var ex *api.ReadReq_Options_FilterOptions_Expression
	f := &filter{}
	if e := fo.GetStreamIdentifier(); e != nil {
		ex = e
	} else if e := fo.GetEventType(); e != nil {
		ex, f.onType = e, true
	}
	if ex == nil {
		return nil, status.Error(codes.InvalidArgument, "esdbfake: empty filter")
	}
	f.prefixes = ex.GetPrefix()
	if ex.GetRegex() != "" {
		re, err := regexp.Compile(ex.GetRegex())
		if err != nil {
			return nil, status.Error(codes.InvalidArgument, "esdbfake: bad filter regex")
		}
		f.re = re
	}
	return f, nil
}

// subscribe serves a subscription to $all: confirmed first, then caught up
// from the requested position (events after it), then live
// (Services/Transport/Enumerators/Enumerator.AllSubscriptionFiltered.cs:158-191,
// MainLoop, :265-361, CatchUp, and :217-262, GoLive; Enumerator.AllSubscription.cs:137-170,
// MainLoop, and :196, GoLive).
func (s *Server) subscribe(o *api.ReadReq_Options, srv api.Streams_ReadServer) error {
	f, err := parseFilter(o)
	if err != nil {
		return err
	}
	if err := srv.Send(&api.ReadResp{Content: &api.ReadResp_Confirmation{Confirmation: &api.ReadResp_SubscriptionConfirmation{
		SubscriptionId: uuid.NewString()}}}); err != nil {
		return err
	}
	all := o.GetAll()
	commit, prepare := int64(-1), int64(-1) // Start: every event
	s.mu.Lock()
	next := 0
	switch {
	case all.GetEnd() != nil:
		commit = s.db.committedEnd()
		prepare = commit
		next = s.db.committed
	case all.GetPosition() != nil:
		commit, prepare = int64(all.GetPosition().CommitPosition), int64(all.GetPosition().PreparePosition)
		var ok bool
		if next, ok = s.start(commit); !ok {
			s.mu.Unlock()
			return status.Error(codes.InvalidArgument, "Trying to read from an invalid position.")
		}
	}
	s.mu.Unlock()
	sent, caughtUp := 0, false
	for {
		s.mu.Lock()
		var batch []*record
		for ; next < s.db.committed; next++ {
			r := s.db.log[next]
			if r.gone || (commit >= 0 && !after(r.pos, r.pos, commit, prepare, false)) || !f.accepts(r) {
				continue
			}
			batch = append(batch, r)
		}
		end := s.db.committedEnd()
		wait := s.notify
		s.mu.Unlock()
		for _, r := range batch {
			if n := s.dropSubs.Load(); n > 0 && sent >= int(n) {
				return status.Error(codes.Unavailable, "esdbfake: subscription dropped")
			}
			if err := srv.Send(readEvent(r)); err != nil {
				return err
			}
			sent++
		}
		if !caughtUp {
			caughtUp = true
			if f != nil {
				// A filtered subscription issues a checkpoint when it goes
				// live (Enumerator.AllSubscriptionFiltered.cs:320-330,
				// CatchUp). The server's is at the last event it sent or
				// the read's current position (:306, :309-313); the
				// double's is the end of the committed log.
				if err := srv.Send(&api.ReadResp{Content: &api.ReadResp_Checkpoint_{Checkpoint: &api.ReadResp_Checkpoint{
					CommitPosition: uint64(end), PreparePosition: uint64(end)}}}); err != nil {
					return err
				}
			}
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

// readEvent is a read response for r. Stream reads carry $all positions
// too, as servers from 22.6 do (CHANGELOG.md:624, 22.6.0: "Populate $all
// position for stream reads/subscriptions/persistent subscriptions").
func readEvent(r *record) *api.ReadResp {
	ct := "application/octet-stream"
	if r.json {
		ct = "application/json"
	}
	md := map[string]string{"type": r.typ, "content-type": ct, "created": strconv.FormatInt(r.created, 10)}
	return &api.ReadResp{Content: &api.ReadResp_Event{Event: &api.ReadResp_ReadEvent{
		Event: &api.ReadResp_ReadEvent_RecordedEvent{
			Id: fromUUID(r.id), StreamIdentifier: &shared.StreamIdentifier{StreamName: []byte(r.stream)},
			StreamRevision: uint64(r.number), PreparePosition: uint64(r.pos), CommitPosition: uint64(r.pos),
			Metadata: md, CustomMetadata: r.custom, Data: r.data,
		},
		Position: &api.ReadResp_ReadEvent_CommitPosition{CommitPosition: uint64(r.pos)},
	}}}
}
