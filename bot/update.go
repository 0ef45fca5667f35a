package bot

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode"
)

// Status updates: posting one (with when the next one comes), the guard
// against repeating the previous one word for word, and the draft that
// prefills the update form.

// Actions of the repeated-update message. Their value is an encoded
// UpdateRequest (UpdateActionValue).
const (
	ActionPostUpdateAnyway = "post-update-anyway"
	ActionEditUpdate       = "edit-update"
)

// MaxActionValue is the longest value a button carries (Slack's limit, the
// tightest chat's).
const MaxActionValue = 2000

// MaxNextUpdate is how far ahead a status update may promise the next one.
const MaxNextUpdate = 24 * time.Hour

// UpdateRequest is one status update a person posts.
type UpdateRequest struct {
	Text string
	// NextBy is when the next update comes; zero: the severity's reminder
	// interval from now (no promise when the severity has none).
	NextBy time.Time
	// Anyway posts it even when it repeats the previous update.
	Anyway bool
	// Repeats, with Anyway, is the id of the update it was shown to repeat
	// (a Post anyway button): if another update has been posted since with
	// the same words (the button pressed twice), it is not posted again.
	Repeats int64
}

// RepeatedUpdateError is returned, and nothing is posted, when an update's
// text is the previous update's ignoring case, spacing and punctuation. It
// wraps an EINVALID *Error, so an edge that does not offer the choice still
// says what happened.
type RepeatedUpdateError struct {
	Incident Incident
	Previous Event // the update it repeats
	Request  UpdateRequest
	// Reply is what its author is shown, alone: which update it repeats,
	// with Post anyway and Edit buttons.
	Reply Reply
	err   *Error
}

func (e *RepeatedUpdateError) Error() string { return e.err.Error() }
func (e *RepeatedUpdateError) Unwrap() error { return e.err }

// normalizedUpdate is text as the repeat guard compares it: letters and
// digits only, lower case.
func normalizedUpdate(text string) string {
	var b strings.Builder
	for _, r := range text {
		if unicode.IsLetter(r) || unicode.IsDigit(r) {
			b.WriteRune(unicode.ToLower(r))
		}
	}
	return b.String()
}

// clock renders t as "HH:MM" in the team's time zone.
func (s *Service) clock(t time.Time) string { return t.In(s.cfg.Location).Format("15:04") }

// NextUpdateDefault is how long after an update of severity sev the next
// one is due when it says nothing: the reminder interval (0: none).
func (s *Service) NextUpdateDefault(sev Severity) time.Duration {
	if s.updateInterval == nil {
		return 0
	}
	return s.updateInterval(sev)
}

// PostUpdateWith posts a status update in the incident channel ("Next
// update by HH:MM" when it states or defaults to one), mirrors it to the
// broadcast channel and records it. An update that repeats the previous
// one returns *RepeatedUpdateError unless req.Anyway.
func (s *Service) PostUpdateWith(ctx context.Context, actor string, id int64, req UpdateRequest) (Incident, error) {
	text, err := typedText("text", "a status update", req.Text, MaxTextLen, true)
	if err != nil {
		return Incident{}, err
	}
	req.Text = text
	if req.Text == "" {
		return Incident{}, FieldErrorf("text", "a status update needs text: /incident update <text>")
	}
	var previous *Event
	if !req.Anyway || req.Repeats != 0 {
		// Read before the change: the guard is advice to the author, and two
		// people posting at the same instant are not repeating each other.
		events, err := s.Timeline(ctx, id)
		if err != nil {
			return Incident{}, err
		}
		for i := range events {
			if events[i].Kind == KindStatusUpdate && (previous == nil || recordedBefore(*previous, events[i])) {
				previous = &events[i]
			}
		}
	}
	return s.change(ctx, id, func(tx Tx, inc *Incident, now time.Time) error {
		repeated := previous != nil && normalizedUpdate(previous.Text) == normalizedUpdate(req.Text)
		if repeated && req.Anyway && previous.ID != req.Repeats {
			return Errorf(ECONFLICT, "%s: this update was already posted at %s", inc.Key(), s.clock(previous.RecordedAt))
		}
		if repeated && !req.Anyway {
			e := &RepeatedUpdateError{Incident: *inc, Previous: *previous, Request: req,
				err: Errorf(EINVALID, "this repeats the status update of %s word for word: nothing was posted. Say what changed, or add --anyway to post it as it is",
					s.clock(previous.RecordedAt))}
			e.Reply = s.repeatedUpdateReply(e)
			return e
		}
		if !req.NextBy.IsZero() && !req.NextBy.After(now) {
			return FieldErrorf("next", "the next update (%s) must be after now", s.clock(req.NextBy))
		}
		next := req.NextBy
		if every := s.NextUpdateDefault(inc.Severity); next.IsZero() && every > 0 && inc.Open() {
			next = now.Add(every)
		}
		inc.LastUpdateAt, inc.NextUpdateBy = now, next
		data := map[string]any{"status": string(inc.Status), "severity": inc.Severity.String()}
		nextLine := ""
		if !next.IsZero() {
			data["next_update_by"] = next.UTC().Format(time.RFC3339)
			nextLine = "\nNext update by " + s.clock(next) + "."
		}
		if req.Anyway {
			data["anyway"] = true // posted past the repeat guard
		}
		ev := Event{Kind: KindStatusUpdate, Actor: actor, Text: req.Text, Data: data}
		if err := appendAll(tx, inc.ID, now, ev); err != nil {
			return err
		}
		msg := fmt.Sprintf("Status update (%s, %s) from %s: %s%s", inc.Severity, inc.Status, actorMention(actor), req.Text, nextLine)
		if err := s.say(tx, *inc, msg); err != nil {
			return err
		}
		if s.cfg.BroadcastChannel != "" && !inc.Private {
			return s.broadcast(tx, *inc, fmt.Sprintf("%s %s (%s, %s): %s%s", inc.Key(), inc.Title, inc.Severity, inc.Status, req.Text, nextLine))
		}
		return nil
	})
}

// PostUpdate posts a status update with the default next-update time.
func (s *Service) PostUpdate(ctx context.Context, actor string, id int64, text string) (Incident, error) {
	return s.PostUpdateWith(ctx, actor, id, UpdateRequest{Text: text})
}

// ParseNextUpdate reads when the next update comes: a duration from now
// ("30m", "1h", "1h30m") or a wall-clock time "HH:MM" in loc (the next
// such time after now), at most MaxNextUpdate ahead.
func ParseNextUpdate(s string, now time.Time, loc *time.Location) (time.Time, error) {
	s = strings.TrimSpace(s)
	if loc == nil {
		loc = time.UTC
	}
	var at time.Time
	if d, err := time.ParseDuration(s); err == nil {
		if d <= 0 {
			return time.Time{}, FieldErrorf("next", "%q is not ahead of now: use 30m, 1h or HH:MM", s)
		}
		at = now.Add(d)
	} else if clock, err := time.Parse("15:04", s); err == nil {
		local := now.In(loc)
		y, m, d := local.Date()
		at = time.Date(y, m, d, clock.Hour(), clock.Minute(), 0, 0, loc)
		if !at.After(now) {
			at = time.Date(y, m, d+1, clock.Hour(), clock.Minute(), 0, 0, loc)
		}
	} else {
		return time.Time{}, FieldErrorf("next", "%q is not a time: use a duration (30m, 1h) or HH:MM (%s)", s, loc)
	}
	if at.Sub(now) > MaxNextUpdate {
		return time.Time{}, FieldErrorf("next", "%q is more than %s ahead", s, durationText(MaxNextUpdate))
	}
	return at.UTC(), nil
}

// updateActionValue is what the repeated-update buttons carry.
type updateActionValue struct {
	Incident int64  `json:"i"`
	Text     string `json:"t"`
	NextBy   string `json:"n,omitempty"`
	Repeats  int64  `json:"r,omitempty"`
}

// UpdateActionValue encodes an update for the repeated-update buttons; ok
// is false when it does not fit in a button (MaxActionValue).
func UpdateActionValue(id int64, req UpdateRequest) (string, bool) {
	v := updateActionValue{Incident: id, Text: req.Text, Repeats: req.Repeats}
	if !req.NextBy.IsZero() {
		v.NextBy = req.NextBy.UTC().Format(time.RFC3339)
	}
	raw, _ := json.Marshal(v) // strings and a number: cannot fail
	return string(raw), len(raw) <= MaxActionValue
}

// ParseUpdateActionValue decodes a repeated-update button's value.
func ParseUpdateActionValue(value string) (int64, UpdateRequest, error) {
	var v updateActionValue
	if err := json.Unmarshal([]byte(value), &v); err != nil || v.Incident < 1 {
		return 0, UpdateRequest{}, Errorf(EINVALID, "this button does not carry a status update")
	}
	req := UpdateRequest{Text: v.Text, Repeats: v.Repeats}
	if v.NextBy != "" {
		t, err := time.Parse(time.RFC3339, v.NextBy)
		if err != nil {
			return 0, UpdateRequest{}, Errorf(EINVALID, "this button does not carry a status update")
		}
		req.NextBy = t
	}
	return v.Incident, req, nil
}

// repeatedUpdateReply is what the author of a repeated update is shown,
// alone: which update it repeats, with Post anyway and Edit buttons.
func (s *Service) repeatedUpdateReply(e *RepeatedUpdateError) Reply {
	at := s.clock(e.Previous.RecordedAt)
	text := fmt.Sprintf("%s: this repeats the status update of %s (by %s) word for word, so it was not posted. Say what changed since, or post it anyway (the button, or /incident update --anyway <text>).",
		e.Incident.Key(), at, actorMention(e.Previous.Actor))
	req := e.Request
	req.Repeats = e.Previous.ID
	value, fits := UpdateActionValue(e.Incident.ID, req)
	msg := &Message{Text: text}
	if fits {
		msg.Actions = []Action{
			{ID: ActionPostUpdateAnyway, Label: "Post anyway", Value: value},
			{ID: ActionEditUpdate, Label: "Edit", Value: value, Style: "primary"},
		}
	} else {
		msg.Text += " It is too long for a button: use --anyway to post it as it is."
		text = msg.Text
	}
	return Reply{Text: text, Message: msg, Incident: e.Incident}
}

// DraftUpdate drafts the next status update of an incident from its
// timeline since the previous one.
func (s *Service) DraftUpdate(ctx context.Context, id int64) (string, error) {
	inc, err := s.store.Incident(ctx, id)
	if err != nil {
		return "", err
	}
	events, err := s.store.Timeline(ctx, id)
	if err != nil {
		return "", err
	}
	in := DraftInput{Incident: inc, Events: events, Location: s.cfg.Location, Names: s.draftNames(ctx, events)}
	return s.cfg.UpdateTemplate.Render(AssembleUpdateDraft(in))
}

// draftNamesBudget bounds the directory lookups of a draft: a form opens
// within the 3 s a chat's trigger stays valid even when the chat is slow;
// someone not looked up in time is shown by their id.
const draftNamesBudget = time.Second

// draftNames looks up the handles of the people on the timeline, when the
// service has a directory; one that cannot be found is shown by its id.
func (s *Service) draftNames(ctx context.Context, events []Event) map[string]string {
	if s.cfg.Directory == nil {
		return nil
	}
	ctx, cancel := context.WithTimeout(ctx, draftNamesBudget)
	defer cancel()
	names := map[string]string{}
	for _, ev := range events {
		a := ev.Actor
		if a == "" || a == SystemActor || strings.Contains(a, ":") {
			continue
		}
		if _, done := names[a]; done {
			continue
		}
		names[a] = ""
		if u, err := s.cfg.Directory.User(ctx, a); err == nil {
			names[a] = u.Name
		}
	}
	return names
}

// execUpdate is "/incident update [--next <when>] [--anyway] [text]".
// Without text it answers with the draft and how to post it.
func (s *Service) execUpdate(ctx context.Context, inv Invocation, inc Incident, args string) (Reply, error) {
	req, err := s.parseUpdateArgs(args)
	if err != nil {
		return Reply{}, err
	}
	if req.Text == "" {
		return s.draftReply(ctx, inc)
	}
	out, err := s.PostUpdateWith(ctx, inv.Actor, inc.ID, req)
	var rep *RepeatedUpdateError
	if errors.As(err, &rep) {
		return rep.Reply, nil
	}
	return s.replied(out, err)
}

// parseUpdateArgs reads "[--next <when>] [--anyway] [text]" (the flags in
// any order, before the text).
func (s *Service) parseUpdateArgs(args string) (UpdateRequest, error) {
	var req UpdateRequest
	for {
		word, rest := splitWord(args)
		switch lw := strings.ToLower(word); {
		case lw == "--anyway":
			req.Anyway = true
		case lw == "--next" || strings.HasPrefix(lw, "--next="):
			when, tail := strings.TrimPrefix(strings.TrimPrefix(word, word[:6]), "="), rest
			if when == "" {
				when, tail = splitWord(rest)
			}
			at, err := ParseNextUpdate(when, s.now(), s.cfg.Location)
			if err != nil {
				return UpdateRequest{}, s.UsageError("update", "%s", ErrorMessage(err))
			}
			req.NextBy, rest = at, tail
		default:
			req.Text = args
			return req, nil
		}
		args = rest
	}
}

// draftReply shows the draft of the next update and how to post it.
func (s *Service) draftReply(ctx context.Context, inc Incident) (Reply, error) {
	draft, err := s.DraftUpdate(ctx, inc.ID)
	if err != nil {
		return Reply{}, err
	}
	how := "Post it, edited, with /incident update <text> (add --next 30m or --next HH:MM to say when the next update comes)."
	if every := s.NextUpdateDefault(inc.Severity); every > 0 && inc.Open() {
		how += fmt.Sprintf(" Without --next, the next update is due in %s.", durationText(every))
	}
	return Reply{Text: fmt.Sprintf("Draft status update for %s, from its timeline:\n\n%s\n\n%s", inc.Key(), draft, how), Incident: inc}, nil
}

// updateActions are the handlers of the repeated-update buttons. Edit has
// no form in a chat without modals: it shows the text to edit.
func (s *Service) updateActions() map[string]ActionHandler {
	return map[string]ActionHandler{
		ActionPostUpdateAnyway: func(ctx context.Context, a ActionInvocation) (Reply, error) {
			id, req, err := ParseUpdateActionValue(a.Value)
			if err != nil {
				return Reply{}, err
			}
			req.Anyway = true
			if !req.NextBy.IsZero() && !req.NextBy.After(s.now()) {
				req.NextBy = time.Time{} // the promised time passed while they decided: the default
			}
			inc, err := s.PostUpdateWith(ctx, a.Actor, id, req)
			if err != nil {
				return Reply{}, err
			}
			return Reply{Text: fmt.Sprintf("%s: status update posted.", inc.Key()), Incident: inc}, nil
		},
		ActionEditUpdate: func(ctx context.Context, a ActionInvocation) (Reply, error) {
			id, req, err := ParseUpdateActionValue(a.Value)
			if err != nil {
				return Reply{}, err
			}
			return Reply{Text: fmt.Sprintf("Edit it and post it with /incident %s update <text>:\n%s", IncidentKey(id), req.Text)}, nil
		},
		ActionPostUpdate: func(ctx context.Context, a ActionInvocation) (Reply, error) {
			id, req, err := s.formUpdateRequest(a)
			if err != nil {
				return Reply{}, err
			}
			return s.replied(s.PostUpdateWith(ctx, a.Actor, id, req))
		},
	}
}

// formUpdateRequest reads the update form: its incident, text and next
// update time.
func (s *Service) formUpdateRequest(a ActionInvocation) (int64, UpdateRequest, error) {
	id, err := ActionIncident(a)
	if err != nil {
		return 0, UpdateRequest{}, err
	}
	req := UpdateRequest{Text: a.Input["text"]}
	if when := strings.TrimSpace(a.Input["next"]); when != "" {
		if req.NextBy, err = ParseNextUpdate(when, s.now(), s.cfg.Location); err != nil {
			return 0, UpdateRequest{}, err
		}
	}
	return id, req, nil
}

// UpdateForm is what an update form opens with.
type UpdateForm struct {
	Incident Incident
	Text     string // prefilled: the draft, or the text being edited
	Next     string // prefilled "next update by" ("HH:MM"; "": the default)
	// DefaultNext is when the next update is due if the form says nothing
	// (the severity's reminder interval; 0: no promise).
	DefaultNext time.Duration
	// PublishPage, set by a chat when a status page is configured, adds a
	// box that publishes the update there too (ticked when Public).
	PublishPage string
	Public      bool
}

// UpdateForm is the update form of incident id, prefilled with the draft
// from its timeline.
func (s *Service) UpdateForm(ctx context.Context, id int64) (UpdateForm, error) {
	inc, err := s.store.Incident(ctx, id)
	if err != nil {
		return UpdateForm{}, err
	}
	draft, err := s.DraftUpdate(ctx, id)
	if err != nil {
		return UpdateForm{}, err
	}
	return UpdateForm{Incident: inc, Text: draft, DefaultNext: s.NextUpdateDefault(inc.Severity)}, nil
}

// EditUpdateForm is the update form prefilled with the update a
// repeated-update button carries (its value).
func (s *Service) EditUpdateForm(ctx context.Context, value string) (UpdateForm, error) {
	id, req, err := ParseUpdateActionValue(value)
	if err != nil {
		return UpdateForm{}, err
	}
	inc, err := s.store.Incident(ctx, id)
	if err != nil {
		return UpdateForm{}, err
	}
	f := UpdateForm{Incident: inc, Text: req.Text, DefaultNext: s.NextUpdateDefault(inc.Severity)}
	if req.NextBy.After(s.now()) {
		f.Next = s.clock(req.NextBy)
	}
	return f, nil
}
