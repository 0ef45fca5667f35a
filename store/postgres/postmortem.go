package postgres

import (
	"context"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"
	"github.com/sitrep-io/sitrep/bot"
	"github.com/sitrep-io/sitrep/store"
)

// Follow-ups, impact anchors and export records of the postmortem feature
// (bot.PostmortemTx, bot.PostmortemStore).

// AddFollowUp stores f and sets its ID.
func (t *tx) AddFollowUp(f *bot.FollowUp) error {
	err := t.queryRow(`INSERT INTO followups (incident_id, text, owner, created_by, created_at, event_id, issue_number, issue_url)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING id`,
		f.IncidentID, f.Text, f.Owner, f.CreatedBy, store.EncodeTime(f.CreatedAt), f.EventID, f.IssueNumber, f.IssueURL).Scan(&f.ID)
	if err != nil {
		return fmt.Errorf("insert follow-up: %w", err)
	}
	return nil
}

// SetFollowUpIssue records the tracker issue of follow-up id.
func (t *tx) SetFollowUpIssue(id int64, number int, url string) error {
	tag, err := t.exec(`UPDATE followups SET issue_number = $1, issue_url = $2 WHERE id = $3`, number, url, id)
	if err != nil {
		return fmt.Errorf("update follow-up %d: %w", id, err)
	}
	if tag.RowsAffected() == 0 {
		return bot.Errorf(bot.ENOTFOUND, "follow-up %d does not exist", id)
	}
	return nil
}

const impactQuery = `SELECT started_at, started_by, ended_at, ended_by FROM impact_anchors WHERE incident_id = $1`

// Impact returns the incident's impact anchors; zero when never set.
func (t *tx) Impact(incidentID int64) (bot.ImpactAnchors, error) {
	return scanImpact(t.queryRow(impactQuery+` FOR UPDATE`, incidentID))
}

// SetImpact replaces the incident's impact anchors.
func (t *tx) SetImpact(incidentID int64, a bot.ImpactAnchors) error {
	_, err := t.exec(`INSERT INTO impact_anchors (incident_id, started_at, started_by, ended_at, ended_by) VALUES ($1, $2, $3, $4, $5)
		ON CONFLICT (incident_id) DO UPDATE SET started_at = excluded.started_at, started_by = excluded.started_by,
			ended_at = excluded.ended_at, ended_by = excluded.ended_by`,
		incidentID, store.EncodeTime(a.StartedAt), a.StartedBy, store.EncodeTime(a.EndedAt), a.EndedBy)
	if err != nil {
		return fmt.Errorf("save impact of %s: %w", bot.IncidentKey(incidentID), err)
	}
	return nil
}

// SaveExport creates or replaces the incident's export record.
func (t *tx) SaveExport(e bot.PostmortemExport) error {
	_, err := t.exec(`INSERT INTO postmortem_exports (incident_id, mode, path, branch, file_url, pr_number, pr_url, issue_number, issue_url, exported_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)
		ON CONFLICT (incident_id) DO UPDATE SET mode = excluded.mode, path = excluded.path, branch = excluded.branch,
			file_url = excluded.file_url, pr_number = excluded.pr_number, pr_url = excluded.pr_url,
			issue_number = excluded.issue_number, issue_url = excluded.issue_url, exported_at = excluded.exported_at`,
		e.IncidentID, e.Mode, e.Path, e.Branch, e.FileURL, e.PRNumber, e.PRURL, e.IssueNumber, e.IssueURL, store.EncodeTime(e.ExportedAt))
	if err != nil {
		return fmt.Errorf("save export of %s: %w", bot.IncidentKey(e.IncidentID), err)
	}
	return nil
}

// FollowUps returns an incident's follow-ups in the order recorded.
func (db *DB) FollowUps(ctx context.Context, incidentID int64) ([]bot.FollowUp, error) {
	rows, err := db.pool.Query(ctx, `SELECT id, incident_id, text, owner, created_by, created_at, event_id, issue_number, issue_url
		FROM followups WHERE incident_id = $1 ORDER BY id`, incidentID)
	if err != nil {
		return nil, fmt.Errorf("read follow-ups of %s: %w", bot.IncidentKey(incidentID), err)
	}
	out, err := collect(rows, func(row store.RowScanner) (bot.FollowUp, error) {
		var f bot.FollowUp
		var created string
		if err := row.Scan(&f.ID, &f.IncidentID, &f.Text, &f.Owner, &f.CreatedBy, &created, &f.EventID, &f.IssueNumber, &f.IssueURL); err != nil {
			return f, err
		}
		var err error
		f.CreatedAt, err = store.DecodeTime(created)
		return f, err
	})
	if err != nil {
		return nil, fmt.Errorf("read follow-ups of %s: %w", bot.IncidentKey(incidentID), err)
	}
	return out, nil
}

// ImpactAnchors returns an incident's impact anchors; zero when never set.
func (db *DB) ImpactAnchors(ctx context.Context, incidentID int64) (bot.ImpactAnchors, error) {
	return scanImpact(db.pool.QueryRow(ctx, impactQuery, incidentID))
}

func scanImpact(row pgx.Row) (bot.ImpactAnchors, error) {
	var a bot.ImpactAnchors
	var started, ended string
	err := row.Scan(&started, &a.StartedBy, &ended, &a.EndedBy)
	if errors.Is(err, pgx.ErrNoRows) {
		return bot.ImpactAnchors{}, nil
	}
	if err != nil {
		return a, fmt.Errorf("read impact anchors: %w", err)
	}
	if a.StartedAt, err = store.DecodeTime(started); err != nil {
		return a, err
	}
	a.EndedAt, err = store.DecodeTime(ended)
	return a, err
}

// PostmortemExport returns the incident's export record; the zero value
// when it was never exported.
func (db *DB) PostmortemExport(ctx context.Context, incidentID int64) (bot.PostmortemExport, error) {
	var e bot.PostmortemExport
	var exported string
	err := db.pool.QueryRow(ctx, `SELECT incident_id, mode, path, branch, file_url, pr_number, pr_url, issue_number, issue_url, exported_at
		FROM postmortem_exports WHERE incident_id = $1`, incidentID).
		Scan(&e.IncidentID, &e.Mode, &e.Path, &e.Branch, &e.FileURL, &e.PRNumber, &e.PRURL, &e.IssueNumber, &e.IssueURL, &exported)
	if errors.Is(err, pgx.ErrNoRows) {
		return bot.PostmortemExport{}, nil
	}
	if err != nil {
		return e, fmt.Errorf("read export of %s: %w", bot.IncidentKey(incidentID), err)
	}
	e.ExportedAt, err = store.DecodeTime(exported)
	return e, err
}
