package bot

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"strings"
)

// Feature is one part of sitrep built beside the core: alerting and
// triage, reminders, postmortems, runbook runs, the pager write-back, the
// status page, the chat adapter's operations. Every feature plugs in the
// same way: Wire calls its Register, which adds what it brings through
// the Registry (commands, actions, hooks, card buttons, outbox delivery
// handlers) and declares the outbox operations it enqueues, so that Wire
// can refuse a wiring in which one of them has no handler.
type Feature interface {
	// Name names the feature in start-up errors ("reminders").
	Name() string
	// Register adds the feature to the service and the dispatcher. It runs
	// once, before any request or delivery.
	Register(r *Registry)
}

// NewFeature is a Feature made of a name and a Register function, for
// small features and tests.
func NewFeature(name string, register func(r *Registry)) Feature {
	return funcFeature{name: name, register: register}
}

type funcFeature struct {
	name     string
	register func(r *Registry)
}

func (f funcFeature) Name() string         { return f.name }
func (f funcFeature) Register(r *Registry) { f.register(r) }

// coreFeature names the Service itself in start-up errors: what it
// enqueues without any feature (the incident channel, its card and
// messages, failure notices).
const coreFeature = "core"

// coreOps are the outbox operations the Service enqueues by itself. Their
// handlers are the chat adapter's (ChatOps).
var coreOps = []string{OpCreateChannel, OpPostCard, OpRefreshCard, OpSetTopic, OpInvite, OpPost, OpAnnounce, OpPin, OpFailureNotice}

// Registry is what a Feature registers through; Wire hands one to each
// feature in turn.
type Registry struct {
	svc     *Service
	disp    *Dispatcher
	feature string // the feature registering now
	errs    []string
}

// wiring is what the features wired on a Dispatcher declared, for Wire's
// check.
type wiring struct {
	handler map[string]string // op → the feature that delivers it
	// enqueued is, by op, the features that declared they enqueue it.
	enqueued map[string][]string
}

// Wire registers features on svc and their delivery handlers on disp,
// then checks that every outbox operation that can be enqueued (the
// core's and those the features declare) has a handler, and that no
// operation has two. A missing handler fails here, naming the operation
// and the feature that enqueues it, instead of showing up later as a
// delivery that fails for good. A later Wire on the same dispatcher adds
// features and checks the whole again (tests add features one by one);
// wire each feature once, as a second Register would add its hooks twice.
func Wire(svc *Service, disp *Dispatcher, features ...Feature) error {
	r := &Registry{svc: svc, disp: disp, feature: coreFeature}
	r.Enqueues(coreOps...)
	for _, f := range features {
		r.feature = f.Name()
		f.Register(r)
	}
	w := &disp.wiring
	for _, op := range slices.Sorted(maps.Keys(w.enqueued)) {
		if _, ok := w.handler[op]; !ok {
			r.errs = append(r.errs, fmt.Sprintf("outbox operation %q, enqueued by %s, has no delivery handler: wire the feature that delivers it",
				op, strings.Join(w.enqueued[op], ", ")))
		}
	}
	if len(r.errs) > 0 {
		return fmt.Errorf("wire sitrep: %s", strings.Join(r.errs, "; "))
	}
	return nil
}

// Service is the service the feature plugs into (its store, its clock, its
// use cases).
func (r *Registry) Service() *Service { return r.svc }

// Command adds a subcommand of /incident, or replaces the one of that
// name where it stands in the list.
func (r *Registry) Command(c Command) { r.svc.registerCommand(c) }

// Action adds (or replaces) the handler of a neutral action whose value
// is the incident id.
func (r *Registry) Action(id string, h ActionHandler) { r.svc.registerActionOn(id, IncidentValue, h) }

// ActionOn adds (or replaces) the handler of an action whose value names
// its incident in another way (a run id, "<incident id>:<runbook>"):
// target finds the incident, checked before h runs.
func (r *Registry) ActionOn(id string, target ActionTarget, h ActionHandler) {
	r.svc.registerActionOn(id, target, h)
}

// Hook adds an EventHook: told about every timeline event inside the
// transaction that records it.
func (r *Registry) Hook(h EventHook) { r.svc.hooks = append(r.svc.hooks, h) }

// CardButtons adds buttons to the incident card of open incidents, before
// Resolve (the status page's Publish button).
func (r *Registry) CardButtons(f func(Incident) []Action) { r.svc.buttons = append(r.svc.buttons, f) }

// Deliver registers the delivery handler of an outbox operation. An
// operation has one handler: a second is a wiring error.
func (r *Registry) Deliver(op string, h DeliveryHandler) {
	w := &r.disp.wiring
	if other, ok := w.handler[op]; ok {
		r.errs = append(r.errs, fmt.Sprintf("outbox operation %q is delivered by both %s and %s", op, other, r.feature))
		return
	}
	if w.handler == nil {
		w.handler = map[string]string{}
	}
	w.handler[op] = r.feature
	r.disp.handlers[op] = h
}

// Enqueues declares the outbox operations the feature enqueues (and
// schedules), whoever delivers them: Wire checks each has a handler, and
// once wired the Service refuses to enqueue an op nobody declared (the
// change fails instead of leaving a delivery no one can carry out).
func (r *Registry) Enqueues(ops ...string) {
	w := &r.disp.wiring
	if w.enqueued == nil {
		w.enqueued = map[string][]string{}
	}
	if r.svc.enqueueable == nil {
		r.svc.enqueueable = map[string]bool{}
	}
	for _, op := range ops {
		r.svc.enqueueable[op] = true
		if !slices.Contains(w.enqueued[op], r.feature) {
			w.enqueued[op] = append(w.enqueued[op], r.feature)
		}
	}
}

// ChatOps is the chat adapter's feature: it delivers the core's chat
// operations (channel, card, topic, invitations, messages, pins, failure
// notices, archiving) through chat.
func ChatOps(chat Chat) Feature {
	return NewFeature("chat", func(r *Registry) {
		h := &chatHandlers{svc: r.svc, chat: chat}
		for op, d := range map[string]DeliveryHandler{
			OpCreateChannel: h.createChannel,
			OpPostCard:      h.postCard,
			OpRefreshCard:   h.refreshCard,
			OpSetTopic:      h.setTopic,
			OpInvite:        h.invite,
			OpPost:          h.post,
			OpFailureNotice: h.post,
			OpAnnounce:      h.announce,
			OpPin:           h.pin,
			OpArchive:       h.archive, // archive.go
		} {
			r.Deliver(op, d)
		}
	})
}

// PinnedMessages is the feature that records pinned chat messages on the
// timeline: the chat's pin events (ReactionAdded, PinAdded) enqueue a
// fetch of the message, delivered through f, paced like the adapter's
// other calls.
func PinnedMessages(f MessageFetcher) Feature {
	return NewFeature("pinned messages", func(r *Registry) {
		r.Enqueues(OpFetchPinned)
		r.Deliver(OpFetchPinned, func(ctx context.Context, d Delivery) (any, error) {
			return nil, r.svc.fetchPinned(ctx, f, d)
		})
	})
}
