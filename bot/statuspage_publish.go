package bot

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"
)

// Publishing: queueing what a person confirmed, previews, delivery to the
// status page and what the channel and timeline are told.

// Publish queues a publication a person confirmed (the form, "update
// --public", "statuspage resolve") and records it on the timeline.
func (p *StatusPages) Publish(ctx context.Context, actor string, id int64, req PublicRequest) (Incident, PublicUpdate, error) {
	var u PublicUpdate
	inc, err := p.svc.change(ctx, id, func(tx Tx, inc *Incident, now time.Time) error {
		var err error
		if u, err = p.prepare(ctx, *inc, req); err != nil {
			return err
		}
		return p.queue(tx, *inc, now, actor, u, "")
	})
	return inc, u, err
}

// prepare builds the public update from what a person confirmed, over the
// incident's public state.
func (p *StatusPages) prepare(ctx context.Context, inc Incident, req PublicRequest) (PublicUpdate, error) {
	st, err := p.state(ctx, inc.ID)
	if err != nil {
		return PublicUpdate{}, err
	}
	return p.build(inc, st, req)
}

func (p *StatusPages) state(ctx context.Context, id int64) (PublicIncident, error) {
	events, err := p.svc.store.Timeline(ctx, id)
	if err != nil {
		return PublicIncident{}, fmt.Errorf("read the timeline of %s: %w", IncidentKey(id), err)
	}
	return PublicState(events), nil
}

// queue records a confirmed publication and queues it; dedup, when set,
// makes it happen once (a preview's Publish button).
func (p *StatusPages) queue(tx Tx, inc Incident, now time.Time, actor string, u PublicUpdate, dedup string) error {
	ev := Event{IncidentID: inc.ID, Kind: KindPublicQueued, Actor: actor, OccurredAt: now, RecordedAt: now, DedupKey: dedup,
		Text: fmt.Sprintf("publishing to %s (%s): %s", p.PageName(), u.Status, u.Body), Data: u.data()}
	ok, err := tx.AppendEvent(&ev)
	if err != nil {
		return fmt.Errorf("record the publication of %s: %w", inc.Key(), err)
	}
	if !ok {
		return Errorf(ECONFLICT, "this preview was already published or cancelled: open /incident statuspage for a new one")
	}
	if err := tx.Enqueue(mustDelivery(statusPageKey(inc.ID), OpPublishStatusPage, inc.ID, publishPayload{Update: u, Actor: actor, QueuedAt: now})); err != nil {
		return err
	}
	return p.svc.say(tx, inc, fmt.Sprintf("%s is publishing to %s (%s)…", actorMention(actor), p.PageName(), u.Status))
}

type publishPayload struct {
	Update   PublicUpdate `json:"update"`
	Actor    string       `json:"actor"`
	QueuedAt time.Time    `json:"queued_at"` // when the person confirmed it (the service's clock)
}

func statusPageKey(id int64) string { return fmt.Sprintf("statuspage:%d", id) }

// Propose records a preview and returns the reply showing it, with Publish
// and Cancel buttons (and the commands doing the same, for the console).
func (p *StatusPages) Propose(ctx context.Context, actor string, id int64, req PublicRequest) (Reply, error) {
	var u PublicUpdate
	var evID int64
	inc, err := p.svc.change(ctx, id, func(tx Tx, inc *Incident, now time.Time) error {
		var err error
		if u, err = p.prepare(ctx, *inc, req); err != nil {
			return err
		}
		ev := Event{IncidentID: id, Kind: KindPublicProposed, Actor: actor, OccurredAt: now, RecordedAt: now,
			Text: "public update previewed (not published): " + u.Body, Data: u.data()}
		if _, err := tx.AppendEvent(&ev); err != nil {
			return err
		}
		evID = ev.ID
		return nil
	})
	if err != nil {
		return Reply{}, err
	}
	value := fmt.Sprintf("%d:%d", id, evID)
	preview := fmt.Sprintf("Preview: customers will read exactly this on %s.\n\n%s", p.PageName(), p.Preview(u))
	return Reply{
		Text: fmt.Sprintf("%s\n\nPublish: /incident statuspage publish %d · Cancel: /incident statuspage cancel %d", preview, evID, evID),
		Message: &Message{Text: preview, Actions: []Action{
			{ID: ActionPublishStatusPage, Label: "Publish", Value: value, Style: "primary"},
			{ID: ActionCancelStatusPage, Label: "Cancel", Value: value},
		}},
		Incident: inc,
	}, nil
}

// PublishProposal publishes a preview exactly as it was shown, once.
func (p *StatusPages) PublishProposal(ctx context.Context, actor string, id, proposal int64) (Incident, error) {
	return p.svc.change(ctx, id, func(tx Tx, inc *Incident, now time.Time) error {
		ev, err := p.proposal(ctx, id, proposal)
		if err != nil {
			return err
		}
		u := publicUpdateOf(ev.Data)
		if u.Status == StatusResolved {
			st, err := p.state(ctx, id)
			if err != nil {
				return err
			}
			if !st.Open {
				return Errorf(EINVALID, "%s has no open public incident to resolve", inc.Key())
			}
		}
		return p.queue(tx, *inc, now, actor, u, proposalKey(proposal))
	})
}

// CancelProposal cancels a preview; it can no longer be published.
func (p *StatusPages) CancelProposal(ctx context.Context, actor string, id, proposal int64) (Incident, error) {
	return p.svc.change(ctx, id, func(tx Tx, inc *Incident, now time.Time) error {
		if _, err := p.proposal(ctx, id, proposal); err != nil {
			return err
		}
		ev := Event{IncidentID: id, Kind: KindPublicCancelled, Actor: actor, OccurredAt: now, RecordedAt: now,
			DedupKey: proposalKey(proposal), Text: "public update preview cancelled", Data: map[string]any{"proposal": proposal}}
		ok, err := tx.AppendEvent(&ev)
		if err != nil {
			return err
		}
		if !ok {
			return Errorf(ECONFLICT, "this preview was already published or cancelled")
		}
		return nil
	})
}

func proposalKey(proposal int64) string { return fmt.Sprintf("statuspage-proposal:%d", proposal) }

func (p *StatusPages) proposal(ctx context.Context, id, proposal int64) (Event, error) {
	events, err := p.svc.store.Timeline(ctx, id)
	if err != nil {
		return Event{}, err
	}
	for _, ev := range events {
		if ev.ID == proposal && ev.Kind == KindPublicProposed {
			return ev, nil
		}
	}
	return Event{}, Errorf(ENOTFOUND, "%s has no preview %d: make one with /incident statuspage <public text>", IncidentKey(id), proposal)
}

// deliver carries out one publication at the status page and records the
// outcome on the timeline and in the channel.
func (p *StatusPages) deliver(ctx context.Context, d Delivery) (any, error) {
	var pl publishPayload
	if err := json.Unmarshal(d.Payload, &pl); err != nil {
		return nil, fmt.Errorf("decode publication: %w", err)
	}
	st, err := p.state(ctx, d.IncidentID)
	if err != nil {
		return nil, err
	}
	ref := st.Ref
	if ref == "" && d.Uncertain {
		// An attempt was in flight when the process died: the page may
		// have created the incident already. Find it rather than open a
		// second one, when the page can tell.
		if finder, ok := p.cfg.Page.(PublicIncidentFinder); ok {
			found, ok, ferr := finder.FindIncident(ctx, pl.Update, pl.QueuedAt)
			if ferr != nil {
				return nil, p.failed(ctx, d, pl, ferr)
			}
			if ok {
				ref = found
			}
		}
	}
	switch {
	case ref != "" && ref == st.Ref:
		err = p.cfg.Page.UpdateIncident(ctx, ref, pl.Update)
	case ref == "":
		ref, err = p.cfg.Page.CreateIncident(ctx, pl.Update)
	}
	if err != nil {
		return nil, p.failed(ctx, d, pl, err)
	}
	err = p.svc.update(ctx, func(tx Tx) error {
		inc, err := tx.Incident(d.IncidentID)
		if err != nil {
			return err
		}
		data := pl.Update.data()
		data["ref"], data["page"], data["delivery"] = ref, p.PageName(), d.ID
		now := p.svc.now()
		ev := Event{IncidentID: inc.ID, Kind: KindPublicPublished, Actor: pl.Actor, OccurredAt: now, RecordedAt: now,
			DedupKey: fmt.Sprintf("statuspage-published:%d", d.ID),
			Text:     fmt.Sprintf("published to %s (%s): %s", p.PageName(), pl.Update.Status, pl.Update.Body), Data: data}
		if _, err := tx.AppendEvent(&ev); err != nil {
			return err
		}
		return p.svc.say(tx, inc, fmt.Sprintf("Published to %s: %s, %s", p.PageName(), pl.Update.Status, pl.Update.Title))
	})
	if err != nil {
		// The page took it: retrying would post it twice (or open a second
		// incident). The outbox entry's result keeps the ref and the error.
		return map[string]string{"ref": ref, "record_error": err.Error()}, nil
	}
	if p.cfg.OnPublished != nil {
		p.cfg.OnPublished(ctx, d.IncidentID)
	}
	return map[string]string{"ref": ref}, nil
}

// lateAfter is how long a publication may be held back by the page's rate
// limit before the channel is told it is late.
const lateAfter = time.Minute

// failed records a failed attempt: a refusal for good on the timeline and
// in the channel with the page's reason; a delay (the page is down, or
// slow) once per publication. A rate limit is a short wait, not news.
func (p *StatusPages) failed(ctx context.Context, d Delivery, pl publishPayload, cause error) error {
	u := pl.Update
	var temp *TemporaryError
	isTemp := errors.As(cause, &temp)
	if isTemp && temp.RateLimited && p.svc.now().Sub(pl.QueuedAt) < lateAfter {
		return cause // a wait of a second or so: not news yet
	}
	kind, dedup := KindPublicRefused, fmt.Sprintf("statuspage-refused:%d", d.ID)
	text := fmt.Sprintf("%s refused the public update (%s): %v. Nothing was published; fix it and publish again with /incident statuspage.", p.PageName(), u.Status, cause)
	if isTemp {
		kind, dedup = KindPublicDelayed, fmt.Sprintf("statuspage-delayed:%d", d.ID)
		text = fmt.Sprintf("The public update (%s) is late: %s did not take it (%v). sitrep keeps trying; nothing is lost.", u.Status, p.PageName(), cause)
	}
	err := p.svc.update(ctx, func(tx Tx) error {
		inc, err := tx.Incident(d.IncidentID)
		if err != nil {
			return err
		}
		now := p.svc.now()
		ev := Event{IncidentID: inc.ID, Kind: kind, Actor: SystemActor, OccurredAt: now, RecordedAt: now, DedupKey: dedup,
			Text: text, Data: map[string]any{"reason": cause.Error(), "status": string(u.Status), "delivery": d.ID,
				"page": p.PageName(), "title": u.Title, "body": u.Body}}
		ok, err := tx.AppendEvent(&ev)
		if err != nil || !ok {
			return err
		}
		return p.svc.say(tx, inc, text)
	})
	if err != nil {
		return Temporary(fmt.Errorf("%w (and recording it failed: %v)", cause, err), 0)
	}
	return cause
}

// onEvent asks, after an incident is resolved, whether to resolve its
// public incident: through the outbox, whose handler reads the committed
// timeline.
func (p *StatusPages) onEvent(tx Tx, inc Incident, ev Event) error {
	if ev.Kind != KindStatusChanged || inc.Status != StatusResolved {
		return nil
	}
	return tx.Enqueue(mustDelivery(statusPageKey(inc.ID), OpAskPublicResolve, inc.ID, nil))
}

func (p *StatusPages) askResolve(ctx context.Context, d Delivery) (any, error) {
	st, err := p.state(ctx, d.IncidentID)
	if err != nil {
		return nil, err
	}
	if !st.Open {
		return nil, nil
	}
	err = p.svc.update(ctx, func(tx Tx) error {
		inc, err := tx.Incident(d.IncidentID)
		if err != nil {
			return err
		}
		if inc.Status != StatusResolved {
			return nil // re-opened since
		}
		id := fmt.Sprint(inc.ID)
		msg := Message{
			Text: fmt.Sprintf("%s is resolved, but its public incident on %s (%q) is still %s. Resolve it publicly (or later with /incident statuspage resolve [text])? Nothing is published until someone chooses.", inc.Key(), p.PageName(), st.Title, st.Status),
			Actions: []Action{
				{ID: ActionResolvePublicly, Label: "Resolve publicly", Value: id, Style: "primary"},
				{ID: ActionKeepPublicOpen, Label: "Keep it open", Value: id},
			},
		}
		return tx.Enqueue(mustDelivery(incidentKey(inc.ID), OpPost, inc.ID, postPayload{Target: TargetIncident, Message: msg}))
	})
	return nil, err
}

// Resolve resolves the public incident, with text or a plain default, and
// sets its components operational.
func (p *StatusPages) Resolve(ctx context.Context, actor string, id int64, text string) (Incident, PublicUpdate, error) {
	if strings.TrimSpace(text) == "" {
		text = "This incident has been resolved."
	}
	return p.Publish(ctx, actor, id, PublicRequest{Body: text, Status: string(StatusResolved)})
}
