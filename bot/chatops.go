package bot

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
)

// Outbox operations the chat handlers deliver.
const (
	OpCreateChannel = "chat.create_channel"
	OpPostCard      = "chat.post_card"
	OpRefreshCard   = "chat.refresh_card"
	OpSetTopic      = "chat.set_topic"
	OpInvite        = "chat.invite"
	OpPost          = "chat.post"
	OpAnnounce      = "chat.announce"
	OpPin           = "chat.pin_card"
	// OpFailureNotice tells an incident's channel that something could not
	// be delivered there (RecordDeliveryFailure); its own failure is only
	// recorded, never noticed again.
	OpFailureNotice = "chat.failure_notice"
)

// Message targets resolved at delivery time, when the channel exists.
const (
	TargetIncident  = "incident"
	TargetBroadcast = "broadcast"
)

type postPayload struct {
	Target  string  `json:"target"` // TargetIncident, TargetBroadcast or a channel id
	Message Message `json:"message"`
}

type invitePayload struct {
	Users []string `json:"users"`
}

// maxNameAttempts bounds the suffixes tried when a channel name is taken.
const maxNameAttempts = 20

func incidentKey(id int64) string { return fmt.Sprintf("incident:%d", id) }

func mustDelivery(key, op string, incidentID int64, v any) Delivery {
	if v == nil {
		v = struct{}{}
	}
	d, err := NewDelivery(key, op, incidentID, v)
	if err != nil {
		panic(err) // only for the package's own payload types, which always encode
	}
	return d
}

type chatHandlers struct {
	svc  *Service
	chat Chat
}

// ErrNoChannel is permanent: the incident's channel could not be created,
// so nothing can be posted in it. Handlers of every feature return it (or
// wrap it), so that a failure is not announced in a channel that is not
// there.
var ErrNoChannel = errors.New("the incident has no chat channel")

func (h *chatHandlers) incident(ctx context.Context, d Delivery, needChannel bool) (Incident, error) {
	inc, err := h.svc.store.Incident(ctx, d.IncidentID)
	if err != nil {
		return Incident{}, fmt.Errorf("load %s: %w", IncidentKey(d.IncidentID), err)
	}
	if needChannel && inc.ChannelID == "" {
		return Incident{}, ErrNoChannel
	}
	return inc, nil
}

func (h *chatHandlers) createChannel(ctx context.Context, d Delivery) (any, error) {
	inc, err := h.incident(ctx, d, false)
	if err != nil {
		return nil, err
	}
	if inc.ChannelID != "" {
		return ChannelRef{ID: inc.ChannelID, Name: inc.ChannelName}, nil
	}
	ref, err := h.createOrAdopt(ctx, inc)
	if err != nil {
		return nil, fmt.Errorf("create channel for %s: %w", inc.Key(), err)
	}
	err = h.svc.update(ctx, func(tx Tx) error {
		cur, err := tx.Incident(inc.ID)
		if err != nil {
			return err
		}
		cur.ChannelID, cur.ChannelName = ref.ID, ref.Name
		if err := tx.UpdateIncident(cur); err != nil {
			return err
		}
		return appendAll(tx, cur.ID, h.svc.now(), Event{Kind: KindChannelCreated, Actor: SystemActor,
			Text: "channel #" + ref.Name + " created", Data: map[string]any{"channel_id": ref.ID, "name": ref.Name}})
	})
	if err != nil {
		return nil, fmt.Errorf("record channel of %s: %w", inc.Key(), err)
	}
	return ref, nil
}

// createOrAdopt creates the incident's channel under its name, or the next
// suffix while a name is taken. A taken name may be the bot's own channel
// for this incident, made by an earlier attempt whose answer or record was
// lost: when the chat can tell (ChannelFinder) that the bot created it and
// no other incident has it, it is adopted, not duplicated.
func (h *chatHandlers) createOrAdopt(ctx context.Context, inc Incident) (ChannelRef, error) {
	finder, _ := h.chat.(ChannelFinder)
	for attempt := 1; ; attempt++ {
		suffix := ""
		if attempt > 1 {
			suffix = fmt.Sprint(attempt)
		}
		name := ChannelName(inc.ID, inc.Title, suffix)
		ref, err := h.chat.CreateChannel(ctx, ChannelSpec{Name: name, Private: inc.Private})
		if ErrorCode(err) != ECONFLICT {
			return ref, err
		}
		if finder != nil {
			own, found, ferr := finder.FindOwnChannel(ctx, name)
			if ferr != nil {
				return ChannelRef{}, fmt.Errorf("look for the channel %s an earlier attempt may have created: %w", name, ferr)
			}
			if found {
				other, oerr := h.svc.store.IncidentByChannel(ctx, own.ID)
				switch {
				case ErrorCode(oerr) == ENOTFOUND:
					return own, nil
				case oerr != nil:
					return ChannelRef{}, oerr
				case other.ID == inc.ID:
					return own, nil
				}
			}
		}
		if attempt == maxNameAttempts {
			return ref, err
		}
	}
}

func (h *chatHandlers) postCard(ctx context.Context, d Delivery) (any, error) {
	inc, err := h.incident(ctx, d, true)
	if err != nil {
		return nil, err
	}
	if inc.CardTS != "" { // already posted by an attempt whose completion was not recorded
		return MessageRef{ChannelID: inc.ChannelID, TS: inc.CardTS}, nil
	}
	msg := h.svc.Card(inc)
	msg.Tag = DeliveryTag(d)
	ref, err := PostOnce(ctx, h.chat, d, inc.ChannelID, msg)
	if err != nil {
		return nil, fmt.Errorf("post card of %s: %w", inc.Key(), err)
	}
	err = h.svc.update(ctx, func(tx Tx) error {
		cur, err := tx.Incident(inc.ID)
		if err != nil {
			return err
		}
		cur.CardTS = ref.TS
		if err := tx.UpdateIncident(cur); err != nil {
			return err
		}
		// Pinning is its own entry, so a failed pin is retried without
		// posting the card again.
		return tx.Enqueue(mustDelivery(incidentKey(inc.ID), OpPin, inc.ID, nil))
	})
	if err != nil {
		return nil, fmt.Errorf("record card of %s: %w", inc.Key(), err)
	}
	return ref, nil
}

func (h *chatHandlers) pin(ctx context.Context, d Delivery) (any, error) {
	inc, err := h.incident(ctx, d, true)
	if err != nil {
		return nil, err
	}
	err = h.chat.Pin(ctx, MessageRef{ChannelID: inc.ChannelID, TS: inc.CardTS})
	if err != nil && ErrorCode(err) != ECONFLICT { // ECONFLICT: already pinned
		return nil, fmt.Errorf("pin card of %s: %w", inc.Key(), err)
	}
	return nil, nil
}

func (h *chatHandlers) refreshCard(ctx context.Context, d Delivery) (any, error) {
	inc, err := h.incident(ctx, d, true)
	if err != nil {
		return nil, err
	}
	if inc.CardTS == "" {
		// The card is posted before any redraw is queued, on the same key:
		// a redraw that finds none comes after a post that failed for good
		// (the channel was told). Waiting for it would hold up every later
		// message of the incident, for ever.
		return SkippedDelivery{Reason: "the incident card was never posted"}, nil
	}
	if err := h.chat.Update(ctx, MessageRef{ChannelID: inc.ChannelID, TS: inc.CardTS}, h.svc.Card(inc)); err != nil {
		return nil, fmt.Errorf("update card of %s: %w", inc.Key(), err)
	}
	return nil, nil
}

func (h *chatHandlers) setTopic(ctx context.Context, d Delivery) (any, error) {
	inc, err := h.incident(ctx, d, true)
	if err != nil {
		return nil, err
	}
	if err := h.chat.SetTopic(ctx, inc.ChannelID, Topic(inc)); err != nil {
		return nil, fmt.Errorf("set topic of %s: %w", inc.Key(), err)
	}
	return nil, nil
}

func (h *chatHandlers) invite(ctx context.Context, d Delivery) (any, error) {
	var p invitePayload
	if err := json.Unmarshal(d.Payload, &p); err != nil {
		return nil, fmt.Errorf("decode invite: %w", err)
	}
	inc, err := h.incident(ctx, d, true)
	if err != nil {
		return nil, err
	}
	if err := h.chat.Invite(ctx, inc.ChannelID, p.Users); err != nil {
		return nil, fmt.Errorf("invite %s to %s: %w", strings.Join(p.Users, ","), inc.Key(), err)
	}
	return nil, nil
}

func (h *chatHandlers) post(ctx context.Context, d Delivery) (any, error) {
	var p postPayload
	if err := json.Unmarshal(d.Payload, &p); err != nil {
		return nil, fmt.Errorf("decode post: %w", err)
	}
	channel := p.Target
	switch p.Target {
	case TargetIncident:
		inc, err := h.incident(ctx, d, true)
		if err != nil {
			return nil, err
		}
		channel = inc.ChannelID
	case TargetBroadcast:
		channel = h.svc.cfg.BroadcastChannel
		if channel == "" {
			return nil, nil
		}
	}
	p.Message.Tag = DeliveryTag(d)
	ref, err := PostOnce(ctx, h.chat, d, channel, p.Message)
	if err != nil {
		return nil, fmt.Errorf("post to %s: %w", channel, err)
	}
	return ref, nil
}

// PostOnce posts msg for outbox entry d, unless an earlier attempt of d
// already did and the chat can tell (it finds its own message by msg.Tag).
// Any earlier attempt may have: one in flight when the process died
// (Uncertain), one whose answer was lost (a timeout after Slack posted), or
// one whose result could not be recorded (a full disk). Every outbox
// handler that posts goes through it, the core's and the features'.
func PostOnce(ctx context.Context, chat Chat, d Delivery, channel string, msg Message) (MessageRef, error) {
	if finder, ok := chat.(MessageFinder); ok && (d.Uncertain || d.Attempts > 0) {
		ref, found, err := finder.FindTagged(ctx, channel, msg.Tag)
		if err != nil {
			return MessageRef{}, err
		}
		if found {
			return ref, nil
		}
	}
	return chat.Post(ctx, channel, msg)
}

func (h *chatHandlers) announce(ctx context.Context, d Delivery) (any, error) {
	channel := h.svc.cfg.BroadcastChannel
	if channel == "" {
		return nil, nil
	}
	inc, err := h.incident(ctx, d, false)
	if err != nil {
		return nil, err
	}
	msg := Announcement(inc)
	msg.Tag = DeliveryTag(d)
	ref, err := PostOnce(ctx, h.chat, d, channel, msg)
	if err != nil {
		return nil, fmt.Errorf("announce %s: %w", inc.Key(), err)
	}
	return ref, nil
}

// DeliveryTag identifies the outbox entry a message comes from; adapters
// keep it with the message so PostOnce can find it after a crash.
func DeliveryTag(d Delivery) string { return fmt.Sprintf("sitrep-delivery-%d", d.ID) }
