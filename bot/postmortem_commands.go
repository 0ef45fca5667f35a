package bot

import (
	"context"
	"fmt"
	"strings"
	"time"
)

func (p *Postmortems) commands() []Command {
	return []Command{
		{Name: "followup", Aliases: []string{"follow-up", "action"}, Syntax: "<text> [@owner]",
			Help: "record an action item for the postmortem (owner optional)",
			Run: func(ctx context.Context, inv Invocation, inc Incident, args string) (Reply, error) {
				text, owner := splitOwner(args)
				if text == "" {
					return Reply{}, p.svc.UsageError("followup", "a follow-up needs text")
				}
				f, err := p.AddFollowUp(ctx, inv.Actor, inc.ID, text, owner)
				if err != nil {
					return Reply{}, err
				}
				who := "no owner yet: add one with /incident followup <text> @owner"
				if f.Owner != "" {
					who = "owner " + actorMention(f.Owner)
				}
				return Reply{Text: fmt.Sprintf("Follow-up %d recorded on %s (%s)", f.ID, inc.Key(), who), Incident: inc}, nil
			}},
		{Name: "impact", Syntax: "start|end [time]",
			Help: "set when user impact started or ended (RFC 3339 or HH:MM; default now)",
			Run: func(ctx context.Context, inv Invocation, inc Incident, args string) (Reply, error) {
				which, rest := splitWord(args)
				which = strings.ToLower(which)
				if which != "start" && which != "end" {
					return Reply{}, p.svc.UsageError("impact", "say start or end")
				}
				at, err := ParseImpactTime(rest, p.svc.Now(), p.cfg.Location)
				if err != nil {
					return Reply{}, p.svc.UsageError("impact", "%s", ErrorMessage(err))
				}
				if err := p.SetImpact(ctx, inv.Actor, inc.ID, which, at); err != nil {
					return Reply{}, err
				}
				return Reply{Text: fmt.Sprintf("Impact %s of %s set to %s", which, inc.Key(), zoneText(at, p.cfg.Location)), Incident: inc}, nil
			}},
		{Name: "postmortem", Help: "draft the postmortem from the timeline and post it here",
			Run: func(ctx context.Context, inv Invocation, inc Incident, _ string) (Reply, error) {
				return p.execDraft(ctx, inv.Actor, inc)
			}},
		{Name: "export", Help: "export the postmortem and follow-ups to GitHub",
			Run: func(ctx context.Context, inv Invocation, inc Incident, _ string) (Reply, error) {
				return p.execExport(ctx, inv.Actor, inc)
			}},
	}
}

// splitOwner takes a trailing "@owner" or "<@U123>" off a follow-up's text.
func splitOwner(args string) (text, owner string) {
	args = strings.TrimSpace(args)
	i := strings.LastIndexAny(args, " \t\n")
	last := args[i+1:]
	if (strings.HasPrefix(last, "<@") && strings.HasSuffix(last, ">")) || (strings.HasPrefix(last, "@") && len(last) > 1) {
		return strings.TrimSpace(args[:max(i, 0)]), NormalizeUser(last)
	}
	return args, ""
}

// AddFollowUp records an action item (owner may be empty) on the incident's
// timeline and in the store. Empty text is EINVALID.
func (p *Postmortems) AddFollowUp(ctx context.Context, actor string, id int64, text, owner string) (FollowUp, error) {
	text, err := typedText("text", "a follow-up", text, MaxTextLen, true)
	if err != nil {
		return FollowUp{}, err
	}
	if text == "" {
		return FollowUp{}, FieldErrorf("text", "a follow-up needs text: /incident followup <text> [@owner]")
	}
	f := FollowUp{IncidentID: id, Text: text, Owner: NormalizeUser(owner), CreatedBy: actor}
	_, err = p.svc.change(ctx, id, func(tx Tx, inc *Incident, now time.Time) error {
		f.CreatedAt = now
		ev := Event{IncidentID: id, Kind: KindFollowUpAdded, Actor: actor, OccurredAt: now, RecordedAt: now,
			Text: "follow-up: " + text, Data: map[string]any{"owner": f.Owner}}
		if _, err := tx.AppendEvent(&ev); err != nil {
			return fmt.Errorf("record follow-up on %s: %w", inc.Key(), err)
		}
		f.EventID = ev.ID
		return tx.AddFollowUp(&f)
	})
	return f, err
}

// SetImpact sets when user impact started or ended (which is "start" or
// "end") and records it on the timeline at that time. Anchors that disagree
// with others are accepted and flagged in the postmortem, not refused: the
// record keeps what people said.
func (p *Postmortems) SetImpact(ctx context.Context, actor string, id int64, which string, at time.Time) error {
	if which != "start" && which != "end" {
		return FieldErrorf("which", "%q: say start or end", which)
	}
	_, err := p.svc.change(ctx, id, func(tx Tx, inc *Incident, now time.Time) error {
		a, err := tx.Impact(id)
		if err != nil {
			return err
		}
		if which == "start" {
			a.StartedAt, a.StartedBy = at, actor
		} else {
			a.EndedAt, a.EndedBy = at, actor
		}
		if err := tx.SetImpact(id, a); err != nil {
			return err
		}
		// The event sits on the timeline where the impact began or ended;
		// RecordedAt keeps when it was said.
		ev := Event{IncidentID: id, Kind: KindImpactSet, Actor: actor, OccurredAt: at.UTC(), RecordedAt: now,
			Text: fmt.Sprintf("impact %s set to %s", which, at.UTC().Format(time.RFC3339)),
			Data: map[string]any{"which": which, "at": at.UTC().Format(time.RFC3339)}}
		_, err = tx.AppendEvent(&ev)
		return err
	})
	return err
}

// ParseImpactTime reads the time given to "/incident impact": empty or
// "now" is now; RFC 3339 is exact; "HH:MM" is the latest such wall-clock
// time in loc at or before now. A wall-clock time that a daylight-saving
// change skips or repeats that day is EINVALID (ask for RFC 3339), as is a
// time in the future.
func ParseImpactTime(s string, now time.Time, loc *time.Location) (time.Time, error) {
	s = strings.TrimSpace(s)
	if s == "" || strings.EqualFold(s, "now") {
		return now.UTC(), nil
	}
	if t, err := time.Parse(time.RFC3339, s); err == nil {
		if t.After(now) {
			return time.Time{}, FieldErrorf("time", "%s is in the future", s)
		}
		return t.UTC(), nil
	}
	clock, err := time.Parse("15:04", s)
	if err != nil {
		return time.Time{}, FieldErrorf("time", "%q is not a time: use HH:MM (%s) or RFC 3339 such as 2020-10-08T00:06:00Z", s, loc)
	}
	local := now.In(loc)
	for day := 0; day < 2; day++ {
		y, m, d := local.AddDate(0, 0, -day).Date()
		t := time.Date(y, m, d, clock.Hour(), clock.Minute(), 0, 0, loc)
		if t.Hour() != clock.Hour() || t.Minute() != clock.Minute() {
			return time.Time{}, FieldErrorf("time", "%s does not exist on %d-%02d-%02d in %s (a daylight-saving change): use RFC 3339", s, y, m, d, loc)
		}
		if repeated(t) {
			return time.Time{}, FieldErrorf("time", "%s happens twice on %d-%02d-%02d in %s (a daylight-saving change): use RFC 3339", s, y, m, d, loc)
		}
		if !t.After(now) {
			return t.UTC(), nil
		}
	}
	return time.Time{}, FieldErrorf("time", "%q is not a time: use HH:MM or RFC 3339", s)
}

// repeated reports whether t's wall-clock time also happens an hour earlier
// or later (the hour a daylight-saving change repeats).
func repeated(t time.Time) bool {
	for _, alt := range []time.Time{t.Add(time.Hour), t.Add(-time.Hour)} {
		if alt.Hour() == t.Hour() && alt.Minute() == t.Minute() {
			return true
		}
	}
	return false
}

func zoneText(t time.Time, loc *time.Location) string {
	s := t.UTC().Format("2006-01-02 15:04 UTC")
	if loc != nil && loc != time.UTC {
		s += t.In(loc).Format(" (2006-01-02 15:04 MST)")
	}
	return s
}
