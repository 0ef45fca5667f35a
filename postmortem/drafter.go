package postmortem

import (
	"context"
	"fmt"
	"time"

	"github.com/sitrep-io/sitrep/bot"
)

// Drafter drafts postmortems from the store. It implements
// bot.PostmortemDrafter.
type Drafter struct {
	Store bot.Store
	// Directory gives people's display names; optional (without it people
	// appear as "an unnamed participant").
	Directory bot.Directory
	Renderer  *Renderer      // nil: the shipped template
	Location  *time.Location // display zone; nil: UTC
	// ReminderInterval is the status-update interval by severity; nil:
	// DefaultReminderInterval.
	ReminderInterval func(bot.Severity) time.Duration
	Now              func() time.Time // nil: time.Now
}

var _ bot.PostmortemDrafter = (*Drafter)(nil)

// Input gathers what incident id's postmortem is drafted from. ENOTFOUND
// for an unknown incident.
func (d *Drafter) Input(ctx context.Context, id int64) (Input, error) {
	inc, err := d.Store.Incident(ctx, id)
	if err != nil {
		return Input{}, err
	}
	in := Input{Incident: inc, Location: d.Location, DraftedAt: d.now()}
	events, err := d.Store.Timeline(ctx, id)
	if err != nil {
		return Input{}, err
	}
	// The postmortem tells the corrected record: hidden events (marked as
	// mistakes, bot/corrections.go) are left out of every section.
	for _, ev := range events {
		if !ev.Hidden {
			in.Events = append(in.Events, ev)
		}
	}
	if in.FollowUps, err = d.Store.FollowUps(ctx, id); err != nil {
		return Input{}, err
	}
	if in.Impact, err = d.Store.ImpactAnchors(ctx, id); err != nil {
		return Input{}, err
	}
	if in.Export, err = d.Store.PostmortemExport(ctx, id); err != nil {
		return Input{}, err
	}
	interval := d.ReminderInterval
	if interval == nil {
		interval = DefaultReminderInterval
	}
	in.ReminderInterval = interval(inc.Severity)
	in.Names = d.names(ctx, in)
	return in, nil
}

// Render drafts incident id's postmortem.
func (d *Drafter) Render(ctx context.Context, id int64) (Result, error) {
	in, err := d.Input(ctx, id)
	if err != nil {
		return Result{}, err
	}
	r := d.Renderer
	if r == nil {
		r = DefaultRenderer()
	}
	return r.Render(in)
}

// DraftPostmortem renders incident id's postmortem as a file to share.
func (d *Drafter) DraftPostmortem(ctx context.Context, id int64) (bot.PostmortemDraft, error) {
	res, err := d.Render(ctx, id)
	if err != nil {
		return bot.PostmortemDraft{}, err
	}
	v := res.View
	draft := bot.PostmortemDraft{
		File:    bot.File{Name: FileName(v.Key), Title: fmt.Sprintf("Postmortem draft: %s %s", v.Key, v.Title), Content: res.Markdown},
		Status:  v.Status,
		Prompts: v.Prompts,
		Flags:   v.Flags,
	}
	for _, f := range res.Findings {
		draft.Findings = append(draft.Findings, f.String())
	}
	return draft, nil
}

// FileName is the name of an incident's drafted postmortem file.
func FileName(key string) string { return key + "-postmortem.md" }

func (d *Drafter) now() time.Time {
	if d.Now != nil {
		return d.Now().UTC()
	}
	return time.Now().UTC()
}

// names looks up everyone the record mentions. A person the directory
// cannot find stays unnamed rather than shown by id.
func (d *Drafter) names(ctx context.Context, in Input) map[string]string {
	names := map[string]string{}
	if d.Directory == nil {
		return names
	}
	for _, id := range people(in) {
		u, err := d.Directory.User(ctx, id)
		if err != nil {
			continue
		}
		switch {
		case u.RealName != "":
			names[id] = u.RealName
		case u.Name != "":
			names[id] = u.Name
		}
	}
	return names
}

// people lists the chat user ids in the record, once each.
func people(in Input) []string {
	seen := map[string]bool{}
	var out []string
	add := func(id string) {
		id = bot.NormalizeUser(id)
		if isPerson(id) && !seen[id] {
			seen[id] = true
			out = append(out, id)
		}
	}
	add(in.Incident.Commander)
	add(in.Incident.CommsLead)
	add(in.Impact.StartedBy)
	add(in.Impact.EndedBy)
	for _, ev := range in.Events {
		add(ev.Actor)
		if u, ok := ev.Data["user"].(string); ok {
			add(u)
		}
		for _, m := range mention.FindAllStringSubmatch(ev.Text, -1) {
			if m[1] == "@" {
				add(m[2])
			}
		}
	}
	for _, f := range in.FollowUps {
		add(f.Owner)
		add(f.CreatedBy)
	}
	return out
}
