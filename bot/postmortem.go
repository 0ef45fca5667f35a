package bot

import (
	"context"
	"time"
)

// Timeline event kinds the postmortem feature records.
const (
	KindFollowUpAdded      EventKind = "followup_added"
	KindImpactSet          EventKind = "impact_set"
	KindPostmortemDrafted  EventKind = "postmortem_drafted"
	KindPostmortemExported EventKind = "postmortem_exported"
)

// Outbox operations of the postmortem feature.
const (
	// OpUploadPostmortem posts a drafted postmortem in the incident channel
	// as a file (a long message when the chat cannot take the file).
	OpUploadPostmortem = "postmortem.upload"
	// OpExportPostmortem exports the postmortem and its follow-ups to the
	// tracker (GitHub), retrying temporary failures.
	OpExportPostmortem = "github.export"
)

// Neutral action ids of the postmortem buttons.
const (
	ActionDraftPostmortem  = "draft-postmortem"
	ActionExportPostmortem = "export-postmortem"
)

// FollowUp is an action item recorded with "/incident followup".
type FollowUp struct {
	ID         int64
	IncidentID int64
	Text       string
	Owner      string // chat user id or name; "" when nobody owns it yet
	CreatedBy  string // chat user id
	CreatedAt  time.Time
	EventID    int64 // the timeline event that recorded it
	// IssueNumber and IssueURL name its tracker issue once exported.
	IssueNumber int
	IssueURL    string
}

// ImpactAnchors are the user-impact times people set explicitly with
// "/incident impact start|end". Zero times are unset: the postmortem then
// falls back to the first alert (start) and mitigation or resolution (end),
// labelled as such.
type ImpactAnchors struct {
	StartedAt time.Time
	StartedBy string
	EndedAt   time.Time
	EndedBy   string
}

// PostmortemExport records what an export created at the tracker, so that
// exporting again updates the same file, pull request or issue.
type PostmortemExport struct {
	IncidentID  int64
	Mode        string // "file" or "issue"
	Path        string // the file in the repository (file mode)
	Branch      string // the branch holding it (file mode)
	FileURL     string
	PRNumber    int
	PRURL       string
	IssueNumber int // the postmortem issue (issue mode)
	IssueURL    string
	ExportedAt  time.Time
}

// URL is the link people should open: the pull request or the issue.
func (e PostmortemExport) URL() string {
	if e.PRURL != "" {
		return e.PRURL
	}
	if e.IssueURL != "" {
		return e.IssueURL
	}
	return e.FileURL
}

// PostmortemTx is the postmortem side of a write transaction.
type PostmortemTx interface {
	// AddFollowUp stores f and sets its ID.
	AddFollowUp(f *FollowUp) error
	// SetFollowUpIssue records the tracker issue of follow-up id; ENOTFOUND
	// when there is no such follow-up.
	SetFollowUpIssue(id int64, number int, url string) error
	// Impact returns the incident's impact anchors (zero when never set).
	Impact(incidentID int64) (ImpactAnchors, error)
	// SetImpact replaces the incident's impact anchors.
	SetImpact(incidentID int64, a ImpactAnchors) error
	// SaveExport creates or replaces the incident's export record.
	SaveExport(e PostmortemExport) error
}

// PostmortemStore is the postmortem side of the store's read API.
type PostmortemStore interface {
	// FollowUps returns an incident's follow-ups in the order recorded.
	FollowUps(ctx context.Context, incidentID int64) ([]FollowUp, error)
	// ImpactAnchors returns an incident's impact anchors (zero when never set).
	ImpactAnchors(ctx context.Context, incidentID int64) (ImpactAnchors, error)
	// PostmortemExport returns the incident's export record; the zero value
	// (IncidentID 0) when it was never exported.
	PostmortemExport(ctx context.Context, incidentID int64) (PostmortemExport, error)
}

// PostmortemDraft is a rendered postmortem and what a reviewer needs to know
// about it.
type PostmortemDraft struct {
	File    File
	Status  string   // "draft" while prompts remain
	Prompts int      // human prompts left to fill in
	Flags   []string // validation flags: inconsistent anchors, missing owners, long gaps
	// Findings are blame-language phrases found in the text the bot wrote
	// (a custom template's wording), each as "phrase (line n)".
	Findings []string
}

// PostmortemDrafter renders an incident's postmortem from what the store
// recorded. It only reads; it returns ENOTFOUND for an unknown incident.
type PostmortemDrafter interface {
	DraftPostmortem(ctx context.Context, incidentID int64) (PostmortemDraft, error)
}

// TrackerRef identifies an issue at the tracker.
type TrackerRef struct {
	Number int
	URL    string
}

// PostmortemPublisher puts postmortems and follow-ups in a tracker (GitHub).
// Calls are idempotent given what earlier calls returned: publishing again
// updates, never duplicates. Errors worth retrying are *TemporaryError;
// others are *Error whose message says what to fix.
type PostmortemPublisher interface {
	// PublishFollowUp creates the follow-up's issue, or updates it when
	// f.IssueNumber is set. ownerName is the owner's display name.
	PublishFollowUp(ctx context.Context, inc Incident, f FollowUp, ownerName string) (TrackerRef, error)
	// PublishPostmortem creates or updates the postmortem document; prev is
	// what the last export created (zero the first time).
	PublishPostmortem(ctx context.Context, inc Incident, doc File, prev PostmortemExport) (PostmortemExport, error)
	// Target names where exports go, for messages ("acme/postmortems").
	Target() string
}

// PostmortemConfig is what the postmortem commands need.
type PostmortemConfig struct {
	Drafter PostmortemDrafter // required
	// Chat uploads drafts to the incident channel; required.
	Chat Chat
	// Publisher exports to the tracker; nil: "/incident export" says how to
	// configure it.
	Publisher PostmortemPublisher
	// Directory resolves follow-up owners' display names for tracker
	// issues; optional.
	Directory Directory
	// Location is the display time zone; "HH:MM" in "/incident impact" is
	// read in it. UTC when nil.
	Location *time.Location
}

// Postmortems carries out the postmortem commands: follow-ups, impact
// anchors, drafting and export. Create it with NewPostmortems and Wire it.
type Postmortems struct {
	svc *Service
	cfg PostmortemConfig
}

// NewPostmortems returns the postmortem feature: the followup, impact,
// postmortem and export commands, the draft/export buttons and the outbox
// handlers that upload drafts (through cfg.Chat) and export them.
func NewPostmortems(cfg PostmortemConfig) *Postmortems {
	if cfg.Location == nil {
		cfg.Location = time.UTC
	}
	return &Postmortems{cfg: cfg}
}

// Name implements Feature.
func (p *Postmortems) Name() string { return "postmortems" }

// Register implements Feature.
func (p *Postmortems) Register(r *Registry) {
	p.svc = r.svc
	for _, c := range p.commands() {
		r.Command(c)
	}
	r.Action(ActionDraftPostmortem, p.onIncident(p.execDraft))
	r.Action(ActionExportPostmortem, p.onIncident(p.execExport))
	r.Enqueues(OpUploadPostmortem, OpExportPostmortem)
	r.Deliver(OpUploadPostmortem, func(ctx context.Context, d Delivery) (any, error) { return p.upload(ctx, p.cfg.Chat, d) })
	r.Deliver(OpExportPostmortem, p.deliverExport)
}

func (p *Postmortems) onIncident(run func(ctx context.Context, actor string, inc Incident) (Reply, error)) ActionHandler {
	return func(ctx context.Context, a ActionInvocation) (Reply, error) {
		id, err := ActionIncident(a)
		if err != nil {
			return Reply{}, err
		}
		inc, err := p.svc.Incident(ctx, id)
		if err != nil {
			return Reply{}, err
		}
		return run(ctx, a.Actor, inc)
	}
}
