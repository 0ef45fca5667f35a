package bot

import (
	"context"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
)

type uploadPayload struct {
	File File `json:"file"`
}

type exportPayload struct {
	Actor string `json:"actor"`
}

// maxMessageBytes bounds the long-message fallback of an upload; Slack
// truncates message text at 40,000 characters.
const maxMessageBytes = 38000

// DraftPostmortem renders the incident's postmortem, records that it was
// drafted and queues it for the channel: the file, then a message with its
// review state (and an export button when export is configured).
func (p *Postmortems) DraftPostmortem(ctx context.Context, actor string, id int64) (PostmortemDraft, error) {
	draft, err := p.cfg.Drafter.DraftPostmortem(ctx, id)
	if err != nil {
		return PostmortemDraft{}, fmt.Errorf("draft postmortem of %s: %w", IncidentKey(id), err)
	}
	err = p.svc.Update(ctx, func(tx Tx) error {
		inc, err := tx.Incident(id)
		if err != nil {
			return err
		}
		ev := Event{Kind: KindPostmortemDrafted, Actor: actor,
			Text: fmt.Sprintf("postmortem drafted: %s, %d prompts left, %d flags", draft.Status, draft.Prompts, len(draft.Flags)),
			Data: map[string]any{"file": draft.File.Name, "status": draft.Status, "prompts": draft.Prompts,
				"flags": len(draft.Flags), "findings": len(draft.Findings)}}
		if err := appendAll(tx, id, p.svc.Now(), ev); err != nil {
			return err
		}
		if err := tx.Enqueue(mustDelivery(incidentKey(id), OpUploadPostmortem, id, uploadPayload{File: draft.File})); err != nil {
			return err
		}
		msg := draftMessage(inc, draft, p.cfg.Publisher != nil)
		return tx.Enqueue(mustDelivery(incidentKey(id), OpPost, id, postPayload{Target: TargetIncident, Message: msg}))
	})
	return draft, err
}

func (p *Postmortems) execDraft(ctx context.Context, actor string, inc Incident) (Reply, error) {
	draft, err := p.DraftPostmortem(ctx, actor, inc.ID)
	if err != nil {
		return Reply{}, err
	}
	return Reply{Incident: inc, Text: fmt.Sprintf("Drafted the postmortem of %s (%s): %d prompts left for people, %d flags to review. Posting %s in the channel.",
		inc.Key(), draft.Status, draft.Prompts, len(draft.Flags), draft.File.Name)}, nil
}

// draftMessage is the message that follows the uploaded draft.
func draftMessage(inc Incident, d PostmortemDraft, exportable bool) Message {
	title := fmt.Sprintf("Postmortem draft of %s: %s", inc.Key(), d.Status)
	text := fmt.Sprintf("%s. %d prompts are left for people to write and %d flags to review in %s.", title, d.Prompts, len(d.Flags), d.File.Name)
	language := "passed"
	if len(d.Findings) > 0 {
		language = "reword: " + strings.Join(d.Findings, "; ")
		text += " Language check: " + language + "."
	}
	msg := Message{Title: title, Text: text, Fields: []Field{
		{Label: "Status", Value: d.Status},
		{Label: "Prompts left", Value: strconv.Itoa(d.Prompts)},
		{Label: "Flags", Value: flagsText(d.Flags)},
		{Label: "Language check", Value: language},
	}}
	if exportable {
		msg.Actions = []Action{{ID: ActionExportPostmortem, Label: "Export to GitHub", Value: strconv.FormatInt(inc.ID, 10), Style: "primary"}}
	}
	return msg
}

func flagsText(flags []string) string {
	if len(flags) == 0 {
		return "none"
	}
	return strings.Join(flags, "; ")
}

// upload posts the drafted file; when the chat refuses the file for good it
// falls back to a long message.
func (p *Postmortems) upload(ctx context.Context, chat Chat, d Delivery) (any, error) {
	var pl uploadPayload
	if err := json.Unmarshal(d.Payload, &pl); err != nil {
		return nil, fmt.Errorf("decode upload: %w", err)
	}
	inc, err := p.svc.store.Incident(ctx, d.IncidentID)
	if err != nil {
		return nil, fmt.Errorf("load %s: %w", IncidentKey(d.IncidentID), err)
	}
	if inc.ChannelID == "" {
		return nil, ErrNoChannel
	}
	ref, err := chat.Upload(ctx, inc.ChannelID, pl.File)
	if err == nil {
		return ref, nil
	}
	if temp, _ := IsTemporary(err); temp {
		return nil, fmt.Errorf("upload %s: %w", pl.File.Name, err)
	}
	// No Title: a chat shows a titled message's Text only as its
	// notification, and here the text is the content (the draft opens with
	// its own heading).
	msg := Message{Text: longMessage(inc, pl.File), Tag: DeliveryTag(d)}
	ref, perr := chat.Post(ctx, inc.ChannelID, msg)
	if perr != nil {
		return nil, fmt.Errorf("upload %s (%v), then post it as a message: %w", pl.File.Name, err, perr)
	}
	return ref, nil
}

// longMessage is the file as message text, cut at a line end when too long.
func longMessage(inc Incident, f File) string {
	s, cut := CutAtLine(string(f.Content), maxMessageBytes)
	if cut {
		s += fmt.Sprintf("\n\n(cut here: run `sitrep postmortem %s --out %s` for the whole draft)", inc.Key(), f.Name)
	}
	return s
}

// CutAtLine shortens s to at most max bytes, at the end of a line where it
// can, and reports whether it cut anything.
func CutAtLine(s string, max int) (string, bool) {
	if len(s) <= max {
		return s, false
	}
	cut := strings.LastIndexByte(s[:max], '\n')
	if cut < 0 {
		cut = max
	}
	return s[:cut], true
}

// RequestExport queues an export of the incident's postmortem. A second
// request while one is queued replaces it. EINVALID when no publisher is
// configured.
func (p *Postmortems) RequestExport(ctx context.Context, actor string, id int64) error {
	if p.cfg.Publisher == nil {
		return Errorf(EINVALID, "GitHub export is not configured: set GITHUB_TOKEN and GITHUB_REPO (owner/name), restart sitrep, then run /incident export again")
	}
	if _, err := p.svc.permitChange(ctx, PermExport, actor, id, func(inc Incident) []Severity { return []Severity{inc.Severity} }); err != nil {
		return err
	}
	return p.svc.Update(ctx, func(tx Tx) error {
		// Its own ordering key: an export waiting out GitHub's rate limit
		// must not hold back the incident's chat messages.
		d := mustDelivery(fmt.Sprintf("github-export:%d", id), OpExportPostmortem, id, exportPayload{Actor: actor})
		d.Coalesce = fmt.Sprintf("export:%d", id)
		return tx.Enqueue(d)
	})
}

func (p *Postmortems) execExport(ctx context.Context, actor string, inc Incident) (Reply, error) {
	if err := p.RequestExport(ctx, actor, inc.ID); err != nil {
		return Reply{}, err
	}
	return Reply{Incident: inc, Text: fmt.Sprintf("Exporting the postmortem of %s to %s; the links will be posted here.", inc.Key(), p.cfg.Publisher.Target())}, nil
}

// Export publishes the follow-ups (each becomes an issue) and then the
// postmortem, which links them, records the result on the timeline and
// queues a channel message with the links. Each follow-up issue is recorded
// as soon as it exists, so a retry after a failure updates it instead of
// opening another. Errors are the publisher's: *TemporaryError to retry,
// *Error saying what to fix.
func (p *Postmortems) Export(ctx context.Context, id int64) (PostmortemExport, error) {
	pub := p.cfg.Publisher
	if pub == nil {
		return PostmortemExport{}, Errorf(EINVALID, "GitHub export is not configured: set GITHUB_TOKEN and GITHUB_REPO")
	}
	inc, err := p.svc.store.Incident(ctx, id)
	if err != nil {
		return PostmortemExport{}, err
	}
	followUps, err := p.publishFollowUps(ctx, pub, inc)
	if err != nil {
		return PostmortemExport{}, err
	}
	draft, err := p.cfg.Drafter.DraftPostmortem(ctx, id)
	if err != nil {
		return PostmortemExport{}, fmt.Errorf("draft postmortem of %s: %w", inc.Key(), err)
	}
	prev, err := p.svc.store.PostmortemExport(ctx, id)
	if err != nil {
		return PostmortemExport{}, err
	}
	exp, err := pub.PublishPostmortem(ctx, inc, draft.File, prev)
	if err != nil {
		return PostmortemExport{}, fmt.Errorf("export postmortem of %s: %w", inc.Key(), err)
	}
	exp.IncidentID, exp.ExportedAt = id, p.svc.Now()
	err = p.svc.Update(ctx, func(tx Tx) error {
		if err := tx.SaveExport(exp); err != nil {
			return err
		}
		ev := Event{Kind: KindPostmortemExported, Actor: SystemActor, SourceURL: exp.URL(),
			Text: fmt.Sprintf("postmortem exported to %s: %s", pub.Target(), exp.URL()), Data: exportData(exp, followUps)}
		if err := appendAll(tx, id, exp.ExportedAt, ev); err != nil {
			return err
		}
		msg := Message{Text: exportText(inc, exp, followUps, pub.Target())}
		return tx.Enqueue(mustDelivery(incidentKey(id), OpPost, id, postPayload{Target: TargetIncident, Message: msg}))
	})
	return exp, err
}

func (p *Postmortems) publishFollowUps(ctx context.Context, pub PostmortemPublisher, inc Incident) ([]FollowUp, error) {
	followUps, err := p.svc.store.FollowUps(ctx, inc.ID)
	if err != nil {
		return nil, err
	}
	for i, f := range followUps {
		ref, err := pub.PublishFollowUp(ctx, inc, f, p.displayName(ctx, f.Owner))
		if err != nil {
			return nil, fmt.Errorf("export follow-up %d of %s: %w", f.ID, inc.Key(), err)
		}
		if ref.Number == f.IssueNumber && ref.URL == f.IssueURL {
			continue
		}
		if err := p.svc.store.Update(ctx, func(tx Tx) error { return tx.SetFollowUpIssue(f.ID, ref.Number, ref.URL) }); err != nil {
			return nil, fmt.Errorf("record issue of follow-up %d: %w", f.ID, err)
		}
		followUps[i].IssueNumber, followUps[i].IssueURL = ref.Number, ref.URL
	}
	return followUps, nil
}

// displayName is a person's name for documents, falling back to the handle
// and then to the id when the directory cannot say.
func (p *Postmortems) displayName(ctx context.Context, user string) string {
	if user == "" || p.cfg.Directory == nil {
		return user
	}
	u, err := p.cfg.Directory.User(ctx, user)
	switch {
	case err != nil:
		return user
	case u.RealName != "":
		return u.RealName
	case u.Name != "":
		return u.Name
	}
	return user
}

func exportData(exp PostmortemExport, followUps []FollowUp) map[string]any {
	urls := []string{}
	for _, f := range followUps {
		urls = append(urls, f.IssueURL)
	}
	return map[string]any{"mode": exp.Mode, "url": exp.URL(), "path": exp.Path, "branch": exp.Branch,
		"pr": exp.PRNumber, "issue": exp.IssueNumber, "followup_issues": urls}
}

func exportText(inc Incident, exp PostmortemExport, followUps []FollowUp, target string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "Postmortem of %s exported to %s: %s", inc.Key(), target, exp.URL())
	if exp.Path != "" {
		fmt.Fprintf(&b, " (file %s on branch %s)", exp.Path, exp.Branch)
	}
	for _, f := range followUps {
		fmt.Fprintf(&b, "\nFollow-up %d: %s", f.ID, f.IssueURL)
	}
	return b.String()
}

// deliverExport runs a queued export. Temporary failures are retried by the
// outbox (the channel hears about the first one); permanent ones are
// reported in the channel with what to fix.
func (p *Postmortems) deliverExport(ctx context.Context, d Delivery) (any, error) {
	exp, err := p.Export(ctx, d.IncidentID)
	if err == nil {
		return exp, nil
	}
	target := "GitHub"
	if p.cfg.Publisher != nil {
		target = p.cfg.Publisher.Target()
	}
	key := IncidentKey(d.IncidentID)
	if temp, _ := IsTemporary(err); temp {
		if d.Attempts == 0 {
			p.notify(ctx, d.IncidentID, fmt.Sprintf("The export of %s to %s is delayed (%v); sitrep retries it automatically.", key, target, err))
		}
		return nil, err
	}
	p.notify(ctx, d.IncidentID, fmt.Sprintf("The export of %s to %s failed: %s. Fix that, then run /incident export again.", key, target, ErrorMessage(err)))
	return nil, err
}

// notify queues a message to the incident's channel; it is best effort, as
// the failure it reports is also kept in the outbox.
func (p *Postmortems) notify(ctx context.Context, id int64, text string) {
	_ = p.svc.Update(ctx, func(tx Tx) error {
		return tx.Enqueue(mustDelivery(incidentKey(id), OpPost, id, postPayload{Target: TargetIncident, Message: Message{Text: text}}))
	})
}
