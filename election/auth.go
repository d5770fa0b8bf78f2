package election

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/electionledger/ledger/events"
)

// Actor is who acts: a signed-in user, in a role, with the Statement of
// Truth they accepted at sign-in.
type Actor struct {
	ID   string           // the user's identifier
	Role events.ActorRole // practice representative, clinician or registry
	// Organization is the registry's identifier for RoleRegistry.
	Organization string
	// AttestedAt is when the actor accepted the Statement of Truth; zero if
	// never. Every command requires it.
	AttestedAt time.Time
}

// Authorizer decides whether an actor may elect for a participant. Callers
// implement it over their identity system; MemoryAuthorizer is an in-memory
// implementation for tests, examples and small services.
type Authorizer interface {
	// Authorize returns nil if actor may act for p, else an error (the
	// Service wraps it as an ErrUnauthorized refusal).
	Authorize(ctx context.Context, actor Actor, p events.Participant) error
}

// MemoryAuthorizer grants, per docs/rules.md §4: a practice representative
// connected to a TIN acts for the group and its clinicians; a clinician acts
// for their own TIN/NPI; a registry acts for the TINs of its authorized
// clients; a virtual group's representative acts for the virtual group (and
// for each member TIN that connected it); an APM Entity's representative
// acts for the entity. It
// is safe for concurrent use.
type MemoryAuthorizer struct {
	mu         sync.RWMutex
	reps       map[string]map[events.TIN]bool // actor ID → connected TINs
	clinicians map[string]events.Participant  // actor ID → own TIN/NPI
	registries map[string]map[events.TIN]bool // registry organization → client TINs
	vgReps     map[string]map[string]bool     // actor ID → virtual group IDs
	apmReps    map[string]map[string]bool     // actor ID → APM Entity IDs
}

// NewMemoryAuthorizer returns an authorizer that grants nothing yet.
func NewMemoryAuthorizer() *MemoryAuthorizer {
	return &MemoryAuthorizer{reps: map[string]map[events.TIN]bool{}, clinicians: map[string]events.Participant{},
		registries: map[string]map[events.TIN]bool{}, vgReps: map[string]map[string]bool{}, apmReps: map[string]map[string]bool{}}
}

// ConnectRepresentative connects a practice representative to a TIN.
func (a *MemoryAuthorizer) ConnectRepresentative(actorID string, tin events.TIN) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.reps[actorID] == nil {
		a.reps[actorID] = map[events.TIN]bool{}
	}
	a.reps[actorID][tin] = true
}

// RegisterClinician records which TIN/NPI a clinician actor is.
func (a *MemoryAuthorizer) RegisterClinician(actorID string, self events.Participant) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.clinicians[actorID] = self
}

// AuthorizeRegistry authorizes a registry (by organization) for a client TIN.
func (a *MemoryAuthorizer) AuthorizeRegistry(organization string, client events.TIN) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.registries[organization] == nil {
		a.registries[organization] = map[events.TIN]bool{}
	}
	a.registries[organization][client] = true
}

// ConnectVirtualGroupRepresentative connects an actor to a virtual group.
func (a *MemoryAuthorizer) ConnectVirtualGroupRepresentative(actorID, virtualGroupID string) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.vgReps[actorID] == nil {
		a.vgReps[actorID] = map[string]bool{}
	}
	a.vgReps[actorID][virtualGroupID] = true
}

// ConnectAPMEntityRepresentative connects an actor to an APM Entity: the
// entity's representative makes its elections (its opt-in in PY2019-2020,
// its Partial QP election for its Partial QPs).
func (a *MemoryAuthorizer) ConnectAPMEntityRepresentative(actorID, entityID string) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.apmReps[actorID] == nil {
		a.apmReps[actorID] = map[string]bool{}
	}
	a.apmReps[actorID][entityID] = true
}

// Authorize implements Authorizer.
func (a *MemoryAuthorizer) Authorize(_ context.Context, actor Actor, p events.Participant) error {
	a.mu.RLock()
	defer a.mu.RUnlock()
	switch actor.Role {
	case events.RolePracticeRepresentative:
		if p.Kind == events.KindVirtualGroup && a.vgReps[actor.ID][p.ID] {
			return nil
		}
		if p.Kind == events.KindAPMEntity && a.apmReps[actor.ID][p.ID] {
			return nil
		}
		if (p.Kind == events.KindGroup || p.Kind == events.KindIndividual) && a.reps[actor.ID][p.TIN] {
			return nil
		}
		return fmt.Errorf("representative %q is not connected to %v", actor.ID, p)
	case events.RoleClinician:
		if self, ok := a.clinicians[actor.ID]; ok && self == p {
			return nil
		}
		return fmt.Errorf("clinician %q may elect only for their own TIN/NPI, not %v", actor.ID, p)
	case events.RoleRegistry:
		if (p.Kind == events.KindGroup || p.Kind == events.KindIndividual) && a.registries[actor.Organization][p.TIN] {
			return nil
		}
		return fmt.Errorf("registry %q is not authorized for %v", actor.Organization, p)
	}
	return fmt.Errorf("role %q may not elect", actor.Role)
}
