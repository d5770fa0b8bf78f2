package esdbfake

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"fmt"
	"math/big"
	"net"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/EventStore/EventStore-Client-Go/v4/protos/serverfeatures"
	"github.com/EventStore/EventStore-Client-Go/v4/protos/shared"
	api "github.com/EventStore/EventStore-Client-Go/v4/protos/streams"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/keepalive"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
)

// Behaviours are the real server's behaviours the double carries, each a
// switch. New turns all of them on (ServerBehaviours); a test turns one off
// only to show what the server's behaviour changes.
type Behaviours struct {
	// StrictPositions: a $all read or subscription from a position that is
	// not the start of a record fails as the server's does. A read: status
	// Unknown, "Unexpected ReadAllResult: InvalidPosition >> ..."
	// (Services/Storage/StorageReaderWorker.All.cs:44-46 catches the
	// InvalidReadException or UnableToReadPastEndOfStreamException that
	// TransactionLog/Chunks/TFChunk/TFChunkReadSide.cs:517-567,
	// TryReadForwardInternal, throws when what it reads mid-record as a
	// length prefix fails ValidateRecordLength, :487-505, or the record
	// fails to parse, :556-559; Services/Transport/Enumerators/
	// Enumerator.ReadAllForwards.cs:118-119 passes InvalidPosition to its
	// default case; Services/Transport/Grpc/Streams.Read.cs:377-378,
	// ConvertReadResponseException → RpcExceptions.cs:51-55, UnknownError).
	// A subscription: confirmed, then InvalidArgument "Trying to read from
	// an invalid position." (Enumerator.AllSubscriptionFiltered.cs:353-354,
	// CatchUp, and Enumerator.AllSubscription.cs:280-281;
	// Streams.Read.cs:369-370 → RpcExceptions.cs:259-260,
	// InvalidPositionException). Off: a read starts at the first record at
	// or after the position, which no server does.
	StrictPositions bool
	// ServerIdempotency: the index writer's checks before a write
	// (Services/Storage/ReaderIndex/IndexWriter.cs:163-325, CheckCommit).
	// With an exact expected
	// revision equal to the stream's last, no ID is checked; with an
	// earlier one, the events must be at the following revisions (strong
	// check); with Any or StreamExists only the committed-events cache is
	// consulted (weak check, bounded by IdempotencyCacheBytes); IDs found
	// for part of the append are CorruptedIdempotency, answered as a wrong
	// expected version (Services/Storage/StorageWriterService.cs:784-788,
	// VerifyCommitChecks); a
	// retry of an append not yet committed is dropped with no reply
	// (IdempotentNotReady, StorageWriterService.cs:790-797), so the client
	// sees the write timeout. Off:
	// every append whose IDs are in the stream in order is acknowledged
	// without writing, at any depth and with any expected revision, which
	// no server does.
	ServerIdempotency bool
	// IdempotencyCacheBytes bounds the weak check's cache
	// (Settings/ESConsts.cs:13, CommittedEventsMemCacheLimit: 8 MiB).
	IdempotencyCacheBytes int64
}

// ServerBehaviours returns every behaviour on, as a KurrentDB server has
// them.
func ServerBehaviours() Behaviours {
	return Behaviours{StrictPositions: true, ServerIdempotency: true, IdempotencyCacheBytes: 8 << 20}
}

// Option configures New.
type Option func(*config)

type config struct {
	behaviours   Behaviours
	version      string
	writeTimeout time.Duration
	tls          bool
	latency      time.Duration
}

// WithBehaviours replaces the server's behaviours (default
// ServerBehaviours()).
func WithBehaviours(b Behaviours) Option { return func(c *config) { c.behaviours = b } }

// WithVersion sets the version the server reports through the
// ServerFeatures service (default "24.10.0"). An empty version makes the
// double answer ServerFeatures with Unimplemented, as servers before 21.10
// do.
func WithVersion(v string) Option { return func(c *config) { c.version = v } }

// WithWriteTimeout sets how long an append waits for its commit before the
// server answers it with a timeout (Database.WriteTimeoutMs: 2s,
// Configuration/ClusterVNodeOptions.cs:416).
func WithWriteTimeout(d time.Duration) Option { return func(c *config) { c.writeTimeout = d } }

// WithTLS serves over TLS with a self-signed certificate and turns on
// authentication and access control, as a server does when it is not
// --insecure: a call carries a user's credentials (basic auth), "admin"
// (password "changeit", in $admins) may do anything, and other users
// only what the stream's ACL grants (Authorization/
// LegacyStreamPermissionAssertion.cs:116-140, CheckAsync). Without it, as
// in --insecure mode,
// every call may do anything.
func WithTLS() Option { return func(c *config) { c.tls = true } }

// WithLatency delays every request by d before the server handles it, as
// a network between client and server does; a benchmark divides an
// operation's time by d to count its round trips.
func WithLatency(d time.Duration) Option { return func(c *config) { c.latency = d } }

// Server is the Streams double. Its log survives Stop and Start, as a
// server's disk does; its in-memory caches do not.
type Server struct {
	api.UnimplementedStreamsServer

	cfg config

	mu     sync.Mutex
	db     *db
	notify chan struct{} // closed and replaced when the log changes
	users  map[string]user

	dropAcks   atomic.Int32 // appends to apply, then fail
	dropSubs   atomic.Int32 // events after which a subscription drops (0: never)
	notLeader  atomic.Int32 // calls to answer with a not-leader redirect
	stallUntil time.Time    // commits wait until then (guarded by mu)
	stallTimer *time.Timer

	calls calls

	srvMu sync.Mutex
	grpc  *grpc.Server
	addr  string
	cert  *tls.Certificate
}

type user struct {
	password string
	groups   []string
}

// New returns a stopped server with an empty log.
func New(opts ...Option) *Server {
	c := config{behaviours: ServerBehaviours(), version: "24.10.0", writeTimeout: 2 * time.Second}
	for _, o := range opts {
		o(&c)
	}
	if c.behaviours.IdempotencyCacheBytes <= 0 {
		c.behaviours.IdempotencyCacheBytes = 8 << 20
	}
	s := &Server{cfg: c, db: newDB(c.behaviours.IdempotencyCacheBytes), notify: make(chan struct{}),
		users: map[string]user{"admin": {password: "changeit", groups: []string{"$admins"}}}}
	// A new database starts with system events: the double writes one, so
	// that $all is never only the ledger's.
	s.db.write(&record{id: newID(), stream: "$settings", number: 0, typ: "$settings", json: true,
		created: ticks(time.Now()), data: []byte(`{"$userStreamAcl":{"$r":"$all","$w":"$all","$d":"$all","$mr":"$all","$mw":"$all"}}`)})
	s.db.committed = len(s.db.log)
	return s
}

// AddUser adds a user with a password and groups, for WithTLS servers.
func (s *Server) AddUser(name, password string, groups ...string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.users[name] = user{password: password, groups: groups}
}

// Start listens on addr ("127.0.0.1:0" picks a port) and serves.
func (s *Server) Start(addr string) error {
	lis, err := net.Listen("tcp", addr)
	if err != nil {
		return err
	}
	var gopts []grpc.ServerOption
	if s.cfg.tls {
		s.srvMu.Lock()
		if s.cert == nil {
			if s.cert, err = selfSigned(); err != nil {
				s.srvMu.Unlock()
				lis.Close()
				return err
			}
		}
		cert := s.cert
		s.srvMu.Unlock()
		gopts = append(gopts, grpc.Creds(credentials.NewTLS(&tls.Config{Certificates: []tls.Certificate{*cert}})))
	}
	gopts = append(gopts, grpc.ChainUnaryInterceptor(s.unaryGate), grpc.ChainStreamInterceptor(s.streamGate),
		// A server takes the client's keepalive pings (every 10 s by
		// default, esdb/configuration.go:107), as gRPC-Go's default policy
		// (one per 5 minutes) would not.
		grpc.KeepaliveEnforcementPolicy(keepalive.EnforcementPolicy{MinTime: 5 * time.Second, PermitWithoutStream: true}))
	g := grpc.NewServer(gopts...)
	api.RegisterStreamsServer(g, s)
	if s.cfg.version != "" {
		serverfeatures.RegisterServerFeaturesServer(g, &features{version: s.cfg.version, calls: &s.calls.features})
	}
	s.srvMu.Lock()
	s.grpc, s.addr = g, lis.Addr().String()
	s.srvMu.Unlock()
	// A restart empties the in-memory caches: the weak idempotency check
	// forgets every event ID.
	s.mu.Lock()
	s.db.ids = newIDCache(s.cfg.behaviours.IdempotencyCacheBytes)
	s.mu.Unlock()
	go func() { _ = g.Serve(lis) }()
	return nil
}

// Run starts a server (with opts) on a free local port for a test or
// benchmark and stops it when the test ends; a failure to start fails the
// test.
func Run(tb testing.TB, opts ...Option) *Server {
	tb.Helper()
	s := New(opts...)
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

// ConnectionString returns an esdb:// connection string for the server,
// with no credentials, and with discovery settings that give up quickly
// when the server is down.
func (s *Server) ConnectionString() string { return s.connectionString("") }

// ConnectionStringFor returns a connection string carrying a user's
// credentials (for WithTLS servers).
func (s *Server) ConnectionStringFor(name, password string) string {
	return s.connectionString(url.UserPassword(name, password).String() + "@")
}

func (s *Server) connectionString(userinfo string) string {
	tlsOpt := "tls=false"
	if s.cfg.tls {
		tlsOpt = "tls=true&tlsVerifyCert=false"
	}
	return "esdb://" + userinfo + s.Addr() + "?" + tlsOpt + "&discoveryInterval=20&maxDiscoverAttempts=3&gossipTimeout=1"
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

// Len returns how many events the log holds, system streams included.
func (s *Server) Len() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.db.log)
}

// Calls counts the requests the server has answered, by kind.
type Calls struct {
	Append, ReadStream, ReadAll, Subscribe, Delete, Tombstone, Features int64
}

// Total returns the number of requests.
func (c Calls) Total() int64 {
	return c.Append + c.ReadStream + c.ReadAll + c.Subscribe + c.Delete + c.Tombstone + c.Features
}

// Sub returns c - o.
func (c Calls) Sub(o Calls) Calls {
	return Calls{c.Append - o.Append, c.ReadStream - o.ReadStream, c.ReadAll - o.ReadAll, c.Subscribe - o.Subscribe,
		c.Delete - o.Delete, c.Tombstone - o.Tombstone, c.Features - o.Features}
}

type calls struct {
	append, readStream, readAll, subscribe, delete, tombstone, features atomic.Int64
}

// Calls returns how many requests of each kind the server has answered.
func (s *Server) Calls() Calls {
	c := &s.calls
	return Calls{c.append.Load(), c.readStream.Load(), c.readAll.Load(), c.subscribe.Load(), c.delete.Load(),
		c.tombstone.Load(), c.features.Load()}
}

// DropNextAck makes the next n appends apply and then fail with
// Unavailable, as if the connection dropped before the client saw the ack.
func (s *Server) DropNextAck(n int) { s.dropAcks.Store(int32(n)) }

// DropSubscriptionsAfter makes every subscription drop (Unavailable) after
// delivering n events; 0 turns it off.
func (s *Server) DropSubscriptionsAfter(n int) { s.dropSubs.Store(int32(n)) }

// NotLeader makes the next n requests to the Streams service answer as a
// follower does to a request that needs the leader: NotFound "Leader info
// available" with the leader's address in the trailers
// (Services/Transport/Grpc/RpcExceptions.cs:25-30, LeaderInfo).
// The double names itself as the leader, so the client's reconnection
// (esdb/impl.go:39-62, handleError; :253-283, connectionStateMachine)
// comes back to it.
func (s *Server) NotLeader(n int) { s.notLeader.Store(int32(n)) }

// StallCommits holds back every commit for d: appends meanwhile are
// written to the log but not readable, and each is answered, after the
// write timeout, with the server's timeout (Aborted "Operation timed out:
// Commit phase timeout.", Services/RequestManager/Managers/
// RequestManagerBase.cs:158-165, Handle(RequestManagerTimerTick), and
// RpcExceptions.cs:14, Timeout), though it commits when the stall ends, as a
// write waiting for replication to a quorum does. A retry of such an
// append meanwhile is dropped with no reply (IdempotentNotReady,
// StorageWriterService.cs:790-797), so it
// too times out.
func (s *Server) StallCommits(d time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.stallUntil = time.Now().Add(d)
	if s.stallTimer != nil {
		s.stallTimer.Stop()
	}
	s.stallTimer = time.AfterFunc(d, s.commitAll)
}

// commitAll ends a stall: everything written becomes readable.
func (s *Server) commitAll() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.stallUntil = time.Time{}
	s.commitLocked()
}

// commitLocked commits what the log holds, unless commits are stalled.
func (s *Server) commitLocked() {
	if time.Now().Before(s.stallUntil) || s.db.committed == len(s.db.log) {
		return
	}
	s.db.committed = len(s.db.log)
	close(s.notify)
	s.notify = make(chan struct{})
}

// identity is who a call comes from.
type identity struct {
	name   string
	groups []string
	admin  bool
	anon   bool
}

// who authenticates a call: with WithTLS, its basic credentials; without,
// everyone may do anything (--insecure).
func (s *Server) who(ctx context.Context) (identity, error) {
	if !s.cfg.tls {
		return identity{admin: true}, nil
	}
	md, _ := metadata.FromIncomingContext(ctx)
	auth := md.Get("authorization")
	if len(auth) == 0 {
		return identity{anon: true}, nil
	}
	raw, ok := strings.CutPrefix(auth[0], "Basic ")
	b, err := base64.StdEncoding.DecodeString(raw)
	name, pass, ok2 := strings.Cut(string(b), ":")
	if !ok || err != nil || !ok2 {
		return identity{}, status.Error(codes.Unauthenticated, "Bad HTTP authorization header")
	}
	s.mu.Lock()
	u, found := s.users[name]
	s.mu.Unlock()
	if !found || u.password != pass {
		return identity{}, status.Error(codes.Unauthenticated, "Bad Authentication")
	}
	id := identity{name: name, groups: u.groups}
	for _, g := range u.groups {
		id.admin = id.admin || g == "$admins"
	}
	return id, nil
}

// allowed applies a stream's ACL to an identity: admins may do anything;
// otherwise the stream's roles for the action, or the default ("$all")
// when the stream sets none, must name the user or one of its groups
// (LegacyStreamPermissionAssertion.cs:116-140, CheckAsync, and
// :172-182, RolesFor). Anonymous callers of a secure server are refused
// here even where a stream's ACL grants "$all": the server refuses them
// by default (AllowAnonymousStreamAccess false,
// Configuration/ClusterVNodeOptions.cs:193), but not by the ACL check,
// which lets anyone through a "$all" role (:122-126).
func (id identity) allowed(roles []string) bool {
	if id.admin {
		return true
	}
	if id.anon {
		return false
	}
	if roles == nil {
		return true // the default user-stream ACL grants "$all"
	}
	for _, r := range roles {
		if r == "$all" || r == id.name {
			return true
		}
		for _, g := range id.groups {
			if r == g {
				return true
			}
		}
	}
	return false
}

// accessDenied is RpcExceptions.AccessDenied (RpcExceptions.cs:60-63).
func accessDenied(setTrailer func(metadata.MD) error) error {
	_ = setTrailer(metadata.Pairs("exception", "access-denied"))
	return status.Error(codes.PermissionDenied, "Access Denied")
}

// notLeaderErr answers a request as a follower does, naming the double as
// the leader.
func (s *Server) notLeaderErr(setTrailer func(metadata.MD) error) (error, bool) {
	if s.notLeader.Load() <= 0 || s.notLeader.Add(-1) < 0 {
		return nil, false
	}
	host, port, _ := net.SplitHostPort(s.Addr())
	_ = setTrailer(metadata.Pairs("exception", "not-leader", "leader-endpoint-host", host, "leader-endpoint-port", port))
	return status.Error(codes.NotFound, "Leader info available"), true
}

// unaryGate and streamGate add the latency, and answer not-leader
// redirects before any Streams call reaches its handler.
func (s *Server) unaryGate(ctx context.Context, req any, info *grpc.UnaryServerInfo, h grpc.UnaryHandler) (any, error) {
	s.delay()
	if strings.Contains(info.FullMethod, "streams.Streams/") {
		if err, ok := s.notLeaderErr(func(md metadata.MD) error { return grpc.SetTrailer(ctx, md) }); ok {
			return nil, err
		}
	}
	return h(ctx, req)
}

func (s *Server) streamGate(srv any, ss grpc.ServerStream, info *grpc.StreamServerInfo, h grpc.StreamHandler) error {
	s.delay()
	// An append answers after reading the whole request (Append does,
	// Streams.Append.cs:53-98): the server reads it and hands the write to
	// the leader check, and a client
	// still sending would otherwise see its stream end (io.EOF) instead of
	// the redirect.
	if strings.Contains(info.FullMethod, "streams.Streams/") && !strings.HasSuffix(info.FullMethod, "/Append") {
		if err, ok := s.notLeaderErr(func(md metadata.MD) error { ss.SetTrailer(md); return nil }); ok {
			return err
		}
	}
	return h(srv, ss)
}

// delay is the configured latency.
func (s *Server) delay() {
	if s.cfg.latency > 0 {
		time.Sleep(s.cfg.latency)
	}
}

// features is the ServerFeatures service: the server's version and the
// methods it supports (Services/Transport/Grpc/ServerFeatures.cs:19-53,
// GetSupportedMethods). The client reads it on every connection
// (esdb/impl.go:353-424, getSupportedMethods, called from discoverNode at
// :537 and on a leader redirect at :270). The server also lists
// features ("position", "events" for the Streams reads) and every other
// service; the double lists the Streams methods alone, with none.
type features struct {
	serverfeatures.UnimplementedServerFeaturesServer
	version string
	calls   *atomic.Int64
}

// GetSupportedMethods answers the client's question on connecting.
func (f *features) GetSupportedMethods(context.Context, *shared.Empty) (*serverfeatures.SupportedMethods, error) {
	f.calls.Add(1)
	m := &serverfeatures.SupportedMethods{EventStoreServerVersion: f.version}
	for _, name := range []string{"read", "append", "delete", "tombstone", "batchappend"} {
		m.Methods = append(m.Methods, &serverfeatures.SupportedMethod{MethodName: name, ServiceName: "event_store.client.streams.streams"})
	}
	return m, nil
}

// selfSigned makes a certificate for 127.0.0.1 and localhost.
func selfSigned() (*tls.Certificate, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, err
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "esdbfake"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour),
		IPAddresses: []net.IP{net.ParseIP("127.0.0.1")}, DNSNames: []string{"localhost"},
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return nil, fmt.Errorf("esdbfake: certificate: %w", err)
	}
	return &tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}, nil
}
