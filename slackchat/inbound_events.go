package slackchat

import (
	"context"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/sitrep-io/sitrep/bot"
	"github.com/sitrep-io/sitrep/handlers"
	"github.com/slack-go/slack/slackevents"
)

// DefaultPinReaction is the reaction that puts a message on the timeline.
const DefaultPinReaction = "pushpin"

// serveEvents serves POST /slack/events: the url_verification handshake and
// event_callback deliveries. Each delivery is applied in one transaction
// that also marks its event_id, so Slack's retries (X-Slack-Retry-Num) and
// duplicate deliveries change nothing the second time. A failure to apply
// answers 500, and Slack's retry tries again.
func (s *Inbound) serveEvents(w http.ResponseWriter, r *http.Request) {
	body, ok := handlers.ReadBody(w, r)
	if !ok || !s.verifiedBody(w, r, body) {
		return
	}
	var outer struct {
		Type      string `json:"type"`
		Challenge string `json:"challenge"`
	}
	if err := handlers.DecodeJSON(body, &outer); err != nil { // one JSON value, no key twice (decode.go)
		handlers.WriteError(w, s.log(), err)
		return
	}
	if outer.Type == slackevents.URLVerification {
		w.Header().Set("Content-Type", "text/plain")
		w.WriteHeader(http.StatusOK)
		_, _ = w.Write([]byte(outer.Challenge))
		return
	}
	ev, err := slackevents.ParseEvent(body, slackevents.OptionNoVerifyToken())
	if err != nil {
		// An event type slack-go does not know: acknowledge it, or Slack
		// retries it and counts the failures against the app.
		s.log().Debug("ignored a Slack event", "err", err, "retry", r.Header.Get("X-Slack-Retry-Num"))
		w.WriteHeader(http.StatusOK)
		return
	}
	if err := s.event(r.Context(), ev); err != nil {
		// Slack retries any failure; a storage failure is answered 503 with
		// Retry-After, like the webhooks', anything else 500.
		if bot.ErrorCode(err) != bot.EUNAVAILABLE {
			s.log().Error("Slack event failed; Slack will retry it", "err", err)
		}
		handlers.WriteError(w, s.log(), err)
		return
	}
	w.WriteHeader(http.StatusOK)
}

// event applies one Events API delivery (from HTTP or Socket Mode). It only
// touches the database; an error means nothing was applied.
func (s *Inbound) event(ctx context.Context, ev slackevents.EventsAPIEvent) error {
	switch ev.Type {
	case slackevents.AppRateLimited:
		if rl, ok := ev.Data.(*slackevents.EventsAPIAppRateLimited); ok {
			s.log().Warn("Slack is dropping events for this app (app_rate_limited)", "minute", rl.MinuteRateLimited)
		}
		return nil
	case slackevents.CallbackEvent:
	default:
		return nil
	}
	cb, ok := ev.Data.(*slackevents.EventsAPICallbackEvent)
	if !ok {
		return nil
	}
	ref := bot.ChatEventRef{Source: "slack", ID: cb.EventID}
	var err error
	switch inner := ev.InnerEvent.Data.(type) {
	case *slackevents.ReactionAddedEvent:
		err = s.reactionAdded(ctx, ref, inner)
	case *slackevents.MessageEvent:
		err = s.messageEvent(ctx, ref, inner)
	case *slackevents.MemberJoinedChannelEvent:
		if !isSelf(cb, inner.User) {
			_, err = s.Service.RecordResponderJoined(ctx, ref, inner.Channel, inner.User, slackTime(inner.EventTimestamp))
		}
	}
	if err != nil {
		return fmt.Errorf("slack event %s (%s): %w", cb.EventID, ev.InnerEvent.Type, err)
	}
	return nil
}

func (s *Inbound) reactionAdded(ctx context.Context, ref bot.ChatEventRef, ev *slackevents.ReactionAddedEvent) error {
	want := strings.Trim(s.PinReaction, ":")
	if want == "" {
		want = DefaultPinReaction
	}
	if ev.Reaction != want || ev.Item.Type != "message" {
		return nil
	}
	_, err := s.Service.PinMessage(ctx, bot.PinRequest{Event: ref, ChannelID: ev.Item.Channel, MessageTS: ev.Item.Timestamp,
		PostedAt: slackTime(ev.Item.Timestamp), Author: ev.ItemUser, PinnedBy: ev.User})
	return err
}

// messageEvent follows edits and deletions of pinned messages (a deleted
// thread parent arrives as an edit into a tombstone); new messages are not
// recorded (only pinned ones are).
func (s *Inbound) messageEvent(ctx context.Context, ref bot.ChatEventRef, ev *slackevents.MessageEvent) error {
	var err error
	switch ev.SubType {
	case "message_changed":
		if ev.Message != nil && ev.Message.SubType == "tombstone" {
			// Deleting a message that has replies leaves a tombstone in
			// its place ("This message was deleted."): a deletion, whose
			// text must go like any other's.
			_, err = s.Service.DeletePinnedMessage(ctx, ref, ev.Channel, ev.Message.Timestamp, slackTime(ev.TimeStamp))
		} else if ev.Message != nil {
			_, err = s.Service.EditPinnedMessage(ctx, ref, ev.Channel, ev.Message.Timestamp, ev.Message.Text, slackTime(ev.TimeStamp))
		}
	case "message_deleted":
		_, err = s.Service.DeletePinnedMessage(ctx, ref, ev.Channel, ev.DeletedTimeStamp, slackTime(ev.TimeStamp))
	}
	return err
}

// isSelf reports whether user is the bot the event was delivered to (its
// own joins are not responders joining).
func isSelf(cb *slackevents.EventsAPICallbackEvent, user string) bool {
	for _, a := range cb.Authorizations {
		if a.IsBot && a.UserID == user {
			return true
		}
	}
	return false
}

// slackTime converts a Slack message timestamp ("1700000000.000100",
// seconds and microseconds) to a time; a malformed one gives the zero time.
func slackTime(ts string) time.Time {
	secs, frac, _ := strings.Cut(ts, ".")
	s, err := strconv.ParseInt(secs, 10, 64)
	if err != nil {
		return time.Time{}
	}
	var micros int64
	if frac != "" {
		frac = (frac + "000000")[:6]
		if micros, err = strconv.ParseInt(frac, 10, 64); err != nil {
			return time.Time{}
		}
	}
	return time.Unix(s, micros*1000).UTC()
}
