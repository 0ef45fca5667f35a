package runbooks

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/sitrep-io/sitrep/bot"
)

// registerDeliveries registers the outbox handlers of runbook runs, which
// reach the chat through cfg.Chat, and declares their ops (all enqueued by
// runs).
func (r *Runs) registerDeliveries(reg *bot.Registry) {
	h := &cardHandlers{runs: r, chat: r.cfg.Chat}
	for op, d := range map[string]bot.DeliveryHandler{
		OpExecute:       r.execute,
		OpExpire:        r.expire,
		OpCancelPending: r.cancelPending,
		OpPostCard:      h.post,
		OpRefreshCard:   h.refresh,
		OpNotify:        h.notify,
	} {
		reg.Enqueues(op)
		reg.Deliver(op, d)
	}
}

// expire is the OpExpire handler, scheduled at a request's expiry: it
// expires the run if nobody decided it, so the card stops offering buttons.
func (r *Runs) expire(ctx context.Context, d bot.Delivery) (any, error) {
	p, err := decodePayload(d)
	if err != nil {
		return nil, err
	}
	run, err := r.store.RunbookRun(ctx, p.Run)
	if err != nil {
		return nil, err
	}
	if wait := run.ExpiresAt.Sub(r.svc.Now()); run.State == bot.RunRequested && wait > 0 {
		return nil, bot.Temporary(errors.New("not expired yet"), wait) // clocks disagree
	}
	return nil, r.svc.Update(ctx, func(tx bot.Tx) error {
		cur, err := tx.RunbookRun(p.Run)
		if err != nil {
			return err
		}
		_, err = r.expireIfDue(tx, &cur)
		return err
	})
}

type cardHandlers struct {
	runs *Runs
	chat bot.Chat
}

func decodePayload(d bot.Delivery) (runPayload, error) {
	var p runPayload
	if err := json.Unmarshal(d.Payload, &p); err != nil {
		return p, fmt.Errorf("decode %s: %w", d.Op, err)
	}
	return p, nil
}

// load returns the run of a delivery and its incident's channel.
func (h *cardHandlers) load(ctx context.Context, d bot.Delivery) (bot.RunbookRun, string, error) {
	p, err := decodePayload(d)
	if err != nil {
		return bot.RunbookRun{}, "", err
	}
	run, err := h.runs.store.RunbookRun(ctx, p.Run)
	if err != nil {
		return run, "", err
	}
	inc, err := h.runs.store.Incident(ctx, run.IncidentID)
	if err != nil {
		return run, "", err
	}
	if inc.ChannelID == "" {
		return run, "", bot.ErrNoChannel
	}
	return run, inc.ChannelID, nil
}

// post posts the approval card once and remembers where it is.
func (h *cardHandlers) post(ctx context.Context, d bot.Delivery) (any, error) {
	run, channel, err := h.load(ctx, d)
	if err != nil {
		return nil, err
	}
	if run.CardTS != "" { // posted by an attempt whose completion was not recorded
		return bot.MessageRef{ChannelID: run.CardChannel, TS: run.CardTS}, nil
	}
	msg := ApprovalCard(run)
	msg.Tag = bot.DeliveryTag(d)
	ref, err := bot.PostOnce(ctx, h.chat, d, channel, msg)
	if err != nil {
		return nil, fmt.Errorf("post card of %s: %w", run.Key(), err)
	}
	err = h.runs.store.Update(ctx, func(tx bot.Tx) error {
		cur, err := tx.RunbookRun(run.ID)
		if err != nil {
			return err
		}
		cur.CardChannel, cur.CardTS = ref.ChannelID, ref.TS
		_, err = tx.UpdateRunbookRun(cur, cur.State)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("record card of %s: %w", run.Key(), err)
	}
	return ref, nil
}

// refresh redraws the card with the run as it is now.
func (h *cardHandlers) refresh(ctx context.Context, d bot.Delivery) (any, error) {
	p, err := decodePayload(d)
	if err != nil {
		return nil, err
	}
	run, err := h.runs.store.RunbookRun(ctx, p.Run)
	if err != nil {
		return nil, err
	}
	if run.CardTS == "" {
		// The card's post comes first on the same key: a redraw that finds
		// no card comes after a post that failed for good (the channel was
		// told). Waiting would hold up every later message of the incident.
		return bot.SkippedDelivery{Reason: "the approval card of " + run.Key() + " was never posted"}, nil
	}
	ref := bot.MessageRef{ChannelID: run.CardChannel, TS: run.CardTS}
	if err := h.chat.Update(ctx, ref, ApprovalCard(run)); err != nil {
		return nil, fmt.Errorf("update card of %s: %w", run.Key(), err)
	}
	return nil, nil
}

// notify posts a line about a run in the incident channel.
func (h *cardHandlers) notify(ctx context.Context, d bot.Delivery) (any, error) {
	p, err := decodePayload(d)
	if err != nil {
		return nil, err
	}
	_, channel, err := h.load(ctx, d)
	if err != nil {
		return nil, err
	}
	ref, err := bot.PostOnce(ctx, h.chat, d, channel, bot.Message{Text: p.Text, Tag: bot.DeliveryTag(d)})
	if err != nil {
		return nil, fmt.Errorf("post about %s: %w", bot.RunKey(p.Run), err)
	}
	return ref, nil
}
