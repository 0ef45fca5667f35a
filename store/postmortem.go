package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"github.com/sitrep-io/sitrep/bot"
)

// Follow-ups, impact anchors and export records of the postmortem feature
// (bot.PostmortemTx, bot.PostmortemStore).

var (
	_ bot.PostmortemTx    = (*tx)(nil)
	_ bot.PostmortemStore = (*DB)(nil)
)

// AddFollowUp stores f and sets its ID.
func (t *tx) AddFollowUp(f *bot.FollowUp) error {
	res, err := t.tx.Exec(`INSERT INTO followups (incident_id, text, owner, created_by, created_at, event_id, issue_number, issue_url)
		VALUES (?,?,?,?,?,?,?,?)`, f.IncidentID, f.Text, f.Owner, f.CreatedBy, encTime(f.CreatedAt), f.EventID, f.IssueNumber, f.IssueURL)
	if err != nil {
		return fmt.Errorf("insert follow-up: %w", err)
	}
	f.ID, err = res.LastInsertId()
	return err
}

// SetFollowUpIssue records the tracker issue of follow-up id.
func (t *tx) SetFollowUpIssue(id int64, number int, url string) error {
	res, err := t.tx.Exec(`UPDATE followups SET issue_number = ?, issue_url = ? WHERE id = ?`, number, url, id)
	if err != nil {
		return fmt.Errorf("update follow-up %d: %w", id, err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return bot.Errorf(bot.ENOTFOUND, "follow-up %d does not exist", id)
	}
	return nil
}

// Impact returns the incident's impact anchors; zero when never set.
func (t *tx) Impact(incidentID int64) (bot.ImpactAnchors, error) {
	return scanImpact(t.tx.QueryRow(impactQuery, incidentID))
}

// SetImpact replaces the incident's impact anchors.
func (t *tx) SetImpact(incidentID int64, a bot.ImpactAnchors) error {
	_, err := t.tx.Exec(`INSERT INTO impact_anchors (incident_id, started_at, started_by, ended_at, ended_by) VALUES (?,?,?,?,?)
		ON CONFLICT (incident_id) DO UPDATE SET started_at = excluded.started_at, started_by = excluded.started_by,
			ended_at = excluded.ended_at, ended_by = excluded.ended_by`,
		incidentID, encTime(a.StartedAt), a.StartedBy, encTime(a.EndedAt), a.EndedBy)
	if err != nil {
		return fmt.Errorf("save impact of %s: %w", bot.IncidentKey(incidentID), err)
	}
	return nil
}

// SaveExport creates or replaces the incident's export record.
func (t *tx) SaveExport(e bot.PostmortemExport) error {
	_, err := t.tx.Exec(`INSERT INTO postmortem_exports (incident_id, mode, path, branch, file_url, pr_number, pr_url, issue_number, issue_url, exported_at)
		VALUES (?,?,?,?,?,?,?,?,?,?)
		ON CONFLICT (incident_id) DO UPDATE SET mode = excluded.mode, path = excluded.path, branch = excluded.branch,
			file_url = excluded.file_url, pr_number = excluded.pr_number, pr_url = excluded.pr_url,
			issue_number = excluded.issue_number, issue_url = excluded.issue_url, exported_at = excluded.exported_at`,
		e.IncidentID, e.Mode, e.Path, e.Branch, e.FileURL, e.PRNumber, e.PRURL, e.IssueNumber, e.IssueURL, encTime(e.ExportedAt))
	if err != nil {
		return fmt.Errorf("save export of %s: %w", bot.IncidentKey(e.IncidentID), err)
	}
	return nil
}

// FollowUps returns an incident's follow-ups in the order recorded.
func (db *DB) FollowUps(ctx context.Context, incidentID int64) ([]bot.FollowUp, error) {
	rows, err := db.reader.QueryContext(ctx, `SELECT id, incident_id, text, owner, created_by, created_at, event_id, issue_number, issue_url
		FROM followups WHERE incident_id = ? ORDER BY id`, incidentID)
	if err != nil {
		return nil, db.storageErr(fmt.Errorf("read follow-ups of %s: %w", bot.IncidentKey(incidentID), err))
	}
	defer rows.Close()
	var out []bot.FollowUp
	for rows.Next() {
		var f bot.FollowUp
		var created string
		if err := rows.Scan(&f.ID, &f.IncidentID, &f.Text, &f.Owner, &f.CreatedBy, &created, &f.EventID, &f.IssueNumber, &f.IssueURL); err != nil {
			return nil, db.storageErr(fmt.Errorf("read follow-ups of %s: %w", bot.IncidentKey(incidentID), err))
		}
		if f.CreatedAt, err = decTime(created); err != nil {
			return nil, err
		}
		out = append(out, f)
	}
	return out, db.storageErr(rows.Err())
}

// ImpactAnchors returns an incident's impact anchors; zero when never set.
func (db *DB) ImpactAnchors(ctx context.Context, incidentID int64) (bot.ImpactAnchors, error) {
	return scanImpact(db.reader.QueryRowContext(ctx, impactQuery, incidentID))
}

const impactQuery = `SELECT started_at, started_by, ended_at, ended_by FROM impact_anchors WHERE incident_id = ?`

func scanImpact(row scanner) (bot.ImpactAnchors, error) {
	var a bot.ImpactAnchors
	var started, ended string
	err := row.Scan(&started, &a.StartedBy, &ended, &a.EndedBy)
	if errors.Is(err, sql.ErrNoRows) {
		return bot.ImpactAnchors{}, nil
	}
	if err != nil {
		return a, fmt.Errorf("read impact anchors: %w", err)
	}
	if a.StartedAt, err = decTime(started); err != nil {
		return a, err
	}
	a.EndedAt, err = decTime(ended)
	return a, err
}

// PostmortemExport returns the incident's export record; the zero value
// when it was never exported.
func (db *DB) PostmortemExport(ctx context.Context, incidentID int64) (bot.PostmortemExport, error) {
	var e bot.PostmortemExport
	var exported string
	err := db.reader.QueryRowContext(ctx, `SELECT incident_id, mode, path, branch, file_url, pr_number, pr_url, issue_number, issue_url, exported_at
		FROM postmortem_exports WHERE incident_id = ?`, incidentID).
		Scan(&e.IncidentID, &e.Mode, &e.Path, &e.Branch, &e.FileURL, &e.PRNumber, &e.PRURL, &e.IssueNumber, &e.IssueURL, &exported)
	if errors.Is(err, sql.ErrNoRows) {
		return bot.PostmortemExport{}, nil
	}
	if err != nil {
		return e, db.storageErr(fmt.Errorf("read export of %s: %w", bot.IncidentKey(incidentID), err))
	}
	e.ExportedAt, err = decTime(exported)
	return e, err
}
