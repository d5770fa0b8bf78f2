package events

import (
	"errors"
	"fmt"
	"hash/maphash"
	"reflect"
	"slices"
	"strings"
	"sync"

	"github.com/electionledger/ledger/internal/fastpath"
	"github.com/go-json-experiment/json"
	"github.com/go-json-experiment/json/jsontext"
	"github.com/google/uuid"
)

// Errors of the type registry.
var (
	// ErrUnknownEventType: no type with this wire name is registered.
	ErrUnknownEventType = errors.New("events: unknown event type")
	// ErrUnknownSchemaVersion: the stored schema version is newer than the
	// registered one, or no upcaster leads from it to the current version.
	ErrUnknownSchemaVersion = errors.New("events: unknown schema version")
	// ErrMalformedPayload: the payload does not decode into its type.
	ErrMalformedPayload = errors.New("events: malformed event payload")
	// ErrAlreadyRegistered: a wire name or upcaster is registered twice.
	ErrAlreadyRegistered = errors.New("events: already registered")
)

// DecodeError reports a payload the registry could not decode. It matches
// one of ErrUnknownEventType, ErrUnknownSchemaVersion or ErrMalformedPayload.
type DecodeError struct {
	Type          string
	SchemaVersion int
	Kind          error // the sentinel
	Err           error // the underlying cause, if any
}

// Error implements error. The cause is shown with RedactDigits applied: a
// decoder's error may quote the payload it refused (a time, an enum value),
// which may hold a TIN.
func (e *DecodeError) Error() string {
	s := fmt.Sprintf("%v: %s/v%d", e.Kind, e.Type, e.SchemaVersion)
	if e.Err != nil {
		s += ": " + e.Err.Error()
	}
	return RedactDigits(s)
}

// Unwrap matches the sentinel and the cause.
func (e *DecodeError) Unwrap() []error {
	if e.Err != nil {
		return []error{e.Kind, e.Err}
	}
	return []error{e.Kind}
}

// Upcaster rewrites a payload of one schema version into the next. It may
// be called from several goroutines at once (a rebuild decodes on one per
// processor), so it must not keep state between calls.
type Upcaster func(data []byte) ([]byte, error)

// Registry maps wire names to Go event types and schema versions, encodes
// events into EventData and decodes records back, upcasting older schema
// versions first. Each ledger owns its registry: there is no global one.
// A Registry is safe for concurrent use; register types before decoding.
type Registry struct {
	mu    sync.RWMutex
	types map[string]*registered
	seed  maphash.Seed // keys the hash that ties a kept event to its bytes
	// noFast: no fast codecs and no kept events (WithoutFastCodecs).
	noFast bool
}

type registered struct {
	version   int
	goType    reflect.Type
	decode    func([]byte) (Event, error)
	upcasters map[int]Upcaster // from version → version+1
	// fast is the type's hand-written codec (fastcodec.go), or the zero
	// fastCodec: most types have none, and none is installed when the
	// registry was made WithoutFastCodecs or the type's shape changed.
	fast fastCodec
	// keep copies an event for a store to keep beside its bytes (see
	// keptEvent); nil: the type's events are always decoded from Data,
	// as they are when fast paths are off.
	keep keepFunc
}

// RegistryOption adjusts NewRegistry.
type RegistryOption func(*registryConfig)

type registryConfig struct{ noFast bool }

// WithoutFastCodecs makes a registry encode and decode every type with the
// general JSON codec, never the hand-written fast codecs. The payloads are
// byte for byte the same; tests run with it to hold the fast path to the
// general one. Setting ELECTIONLEDGER_FAST_PATHS=off does the same for
// every registry.
func WithoutFastCodecs() RegistryOption { return func(c *registryConfig) { c.noFast = true } }

// NewRegistry returns a registry holding the ledger's event types at their
// current schema versions, with the upcasters for older versions.
func NewRegistry(opts ...RegistryOption) *Registry {
	cfg := registryConfig{noFast: fastpath.Off()}
	for _, o := range opts {
		o(&cfg)
	}
	r := NewEmptyRegistry()
	r.noFast = cfg.noFast
	must := func(err error) {
		if err != nil {
			panic(err) // the built-in table is static; a failure is a programming error
		}
	}
	must(Register[EligibilityDetermined](r, 1))
	must(Register[ElectionRequested](r, 2))
	must(r.RegisterUpcaster(TypeElectionRequested, 1, upcastElectionRequestedV1))
	must(Register[ElectionRequestWithdrawn](r, 1))
	must(Register[ElectionConfirmed](r, 1))
	must(Register[APMParticipationSnapshot](r, 1))
	must(Register[VirtualGroupMembership](r, 1))
	must(Register[VirtualGroupMemberAdmitted](r, 1))
	must(Register[VirtualGroupMemberReleased](r, 1))
	must(Register[VirtualGroupRetracted](r, 1))
	must(Register[PublicReportingOptedOut](r, 1))
	must(Register[UploadCancelled](r, 1))
	must(Register[CommandRecorded](r, 1))
	must(Register[ScoreReported](r, 1))
	if !cfg.noFast {
		r.installFast(fastCodecs())
		r.installKeepers(map[string]keeper{
			TypeElectionRequested:        {keepRequested, []string{"OfficeChampion", "ClinicalChampion"}},
			TypeAPMParticipationSnapshot: {keepSnapshot, []string{"Entries"}},
			TypeVirtualGroupMembership:   {keepMembership, []string{"Members"}},
		})
	}
	return r
}

// installFast installs each hand-written codec whose type is registered
// and still has the shape the codec was written for.
func (r *Registry) installFast(codecs map[string]fastCodec) {
	for name, c := range codecs {
		if t, ok := r.types[name]; ok && shapeOf(t.goType) == c.shape {
			t.fast = c
		}
	}
}

// NewEmptyRegistry returns a registry with no types, for callers who define
// their own vocabulary.
func NewEmptyRegistry() *Registry {
	return &Registry{types: make(map[string]*registered), seed: maphash.MakeSeed()}
}

// TypeInfo describes a registered event type.
type TypeInfo struct {
	Name    string       // the wire name
	Version int          // the current schema version
	GoType  reflect.Type // the Go type payloads decode into
}

// Types lists the registered types, sorted by wire name.
func (r *Registry) Types() []TypeInfo {
	r.mu.RLock()
	defer r.mu.RUnlock()
	out := make([]TypeInfo, 0, len(r.types))
	for name, t := range r.types {
		out = append(out, TypeInfo{Name: name, Version: t.version, GoType: t.goType})
	}
	slices.SortFunc(out, func(a, b TypeInfo) int { return strings.Compare(a.Name, b.Name) })
	return out
}

// Register adds event type E (its wire name from E's EventType) at its
// current schema version.
func Register[E Event](r *Registry, version int) error {
	var zero E
	name := zero.EventType()
	if name == "" || version < 1 || version > 0xFFFF {
		return fmt.Errorf("events: register %T: need a wire name and a version from 1 to 65535", zero)
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if _, ok := r.types[name]; ok {
		return fmt.Errorf("%w: type %q", ErrAlreadyRegistered, name)
	}
	r.types[name] = &registered{
		version: version,
		goType:  reflect.TypeFor[E](),
		decode: func(b []byte) (Event, error) {
			var e E
			if err := json.Unmarshal(b, &e); err != nil {
				return nil, err
			}
			return e, nil
		},
		upcasters: make(map[int]Upcaster),
		keep:      r.keeperFor(reflect.TypeFor[E]()),
	}
	return nil
}

// RegisterUpcaster adds the upcaster from schema version from to from+1 of a
// registered type.
func (r *Registry) RegisterUpcaster(name string, from int, up Upcaster) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	t, ok := r.types[name]
	if !ok {
		return fmt.Errorf("%w: %q", ErrUnknownEventType, name)
	}
	if from < 1 || from >= t.version {
		return fmt.Errorf("events: upcaster for %s from v%d: want a version from 1 to %d", name, from, t.version-1)
	}
	if _, dup := t.upcasters[from]; dup {
		return fmt.Errorf("%w: upcaster for %s from v%d", ErrAlreadyRegistered, name, from)
	}
	t.upcasters[from] = up
	return nil
}

// Version returns the current schema version of a wire name.
func (r *Registry) Version(name string) (int, bool) {
	r.mu.RLock()
	defer r.mu.RUnlock()
	t, ok := r.types[name]
	if !ok {
		return 0, false
	}
	return t.version, true
}

// Encode returns the EventData for e with the given ID and metadata. It
// also hands a store that keeps decoded payloads its own copy of e, tied to
// the encoded bytes (a caller may reuse e afterwards).
func (r *Registry) Encode(id uuid.UUID, e Event, md Metadata) (EventData, error) {
	name := e.EventType()
	r.mu.RLock()
	t, ok := r.types[name]
	r.mu.RUnlock()
	if !ok {
		return EventData{}, &DecodeError{Type: name, Kind: ErrUnknownEventType}
	}
	v := t.version
	var data []byte
	fast := false
	if t.fast.encode != nil {
		data, fast = t.fast.encode(make([]byte, 0, 256), e)
	}
	if !fast {
		var err error
		if data, err = json.Marshal(e, json.Deterministic(true)); err != nil {
			return EventData{}, fmt.Errorf("events: encode %s: %w", name, err)
		}
	}
	ed := EventData{ID: id, Type: name, SchemaVersion: v, Data: data, Metadata: md}
	if t.keep != nil {
		ed.kept = keptEvent{event: t.keep(e), seed: r.seed, sum: maphash.Bytes(r.seed, data)}
	}
	return ed, nil
}

// Decode returns the record's payload as its registered Go type, upcasting
// an older schema version first. When the store kept the decoded event
// (memstore does, checked against Data when it was appended) at the
// current schema version, Decode returns it, copied where the type holds
// slices, instead of decoding Data. It never panics on bad input.
func (r *Registry) Decode(rec *Record) (Event, error) {
	if rec.decoded != nil && rec.decoded.EventType() == rec.Type {
		r.mu.RLock()
		t, ok := r.types[rec.Type]
		r.mu.RUnlock()
		if ok && t.version == rec.SchemaVersion && t.keep != nil {
			return t.keep(rec.decoded), nil
		}
	}
	return r.DecodeData(rec.Type, rec.SchemaVersion, rec.Data)
}

// DecodeData decodes a payload of a wire type and schema version.
func (r *Registry) DecodeData(name string, version int, data []byte) (Event, error) {
	r.mu.RLock()
	t, ok := r.types[name]
	r.mu.RUnlock()
	if !ok {
		return nil, &DecodeError{Type: name, SchemaVersion: version, Kind: ErrUnknownEventType}
	}
	if version < 1 || version > t.version {
		return nil, &DecodeError{Type: name, SchemaVersion: version, Kind: ErrUnknownSchemaVersion,
			Err: fmt.Errorf("this registry knows versions 1 to %d", t.version)}
	}
	if version == t.version && t.fast.decode != nil {
		if e, ok := t.fast.decode(data); ok {
			return e, nil
		}
	}
	for v := version; v < t.version; v++ {
		r.mu.RLock()
		up := t.upcasters[v]
		r.mu.RUnlock()
		if up == nil {
			return nil, &DecodeError{Type: name, SchemaVersion: version, Kind: ErrUnknownSchemaVersion,
				Err: fmt.Errorf("no upcaster from v%d", v)}
		}
		var err error
		if data, err = up(data); err != nil {
			return nil, &DecodeError{Type: name, SchemaVersion: version, Kind: ErrMalformedPayload, Err: fmt.Errorf("upcast from v%d: %w", v, err)}
		}
	}
	e, err := t.decode(data)
	if err != nil {
		return nil, &DecodeError{Type: name, SchemaVersion: version, Kind: ErrMalformedPayload, Err: err}
	}
	return e, nil
}

// electionRequestedV1 is the first schema of election.requested, written by
// the PY2019 pilot: a boolean optIn and no pathway (the APP did not exist).
type electionRequestedV1 struct {
	Participant Participant    `json:"participant"`
	ProgramYear ProgramYear    `json:"programYear"`
	OptIn       bool           `json:"optIn"`
	RequestedAt jsontext.Value `json:"requestedAt"`
	BatchID     string         `json:"batchId,omitzero"`
}

// upcastElectionRequestedV1 maps optIn true/false to choice opt-in/voluntary
// and adds the traditional pathway, the only one v1 could name.
func upcastElectionRequestedV1(data []byte) ([]byte, error) {
	var v1 electionRequestedV1
	if err := json.Unmarshal(data, &v1, json.RejectUnknownMembers(true)); err != nil {
		return nil, err
	}
	choice := ChoiceVoluntary
	if v1.OptIn {
		choice = ChoiceOptIn
	}
	v2 := struct {
		Participant Participant    `json:"participant"`
		ProgramYear ProgramYear    `json:"programYear"`
		Choice      Choice         `json:"choice"`
		Pathway     Pathway        `json:"pathway"`
		RequestedAt jsontext.Value `json:"requestedAt"`
		BatchID     string         `json:"batchId,omitzero"`
	}{v1.Participant, v1.ProgramYear, choice, PathwayTraditional, v1.RequestedAt, v1.BatchID}
	return json.Marshal(v2, json.Deterministic(true))
}
