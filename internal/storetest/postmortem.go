package storetest

import (
	"testing"
	"time"

	"github.com/sitrep-io/sitrep/bot"
)

func testPostmortemRecords(t *testing.T, open Opener) {
	db := open(t)
	inc := Create(t, db, NewIncident("Platform API returning 500"))[0]
	ctx := t.Context()

	// Nothing recorded yet: zero values, not errors.
	if a, err := db.ImpactAnchors(ctx, inc.ID); err != nil || a != (bot.ImpactAnchors{}) {
		t.Fatalf("ImpactAnchors = %+v, %v", a, err)
	}
	if e, err := db.PostmortemExport(ctx, inc.ID); err != nil || e.IncidentID != 0 {
		t.Fatalf("PostmortemExport = %+v, %v", e, err)
	}
	f := bot.FollowUp{IncidentID: inc.ID, Text: "Alert on renewal failures", Owner: "U2", CreatedBy: "U1", CreatedAt: t0, EventID: 4}
	exp := bot.PostmortemExport{IncidentID: inc.ID, Mode: "file", Path: "postmortems/x.md", Branch: "sitrep/postmortem-inc-1",
		PRNumber: 3, PRURL: "https://github.com/acme/pm/pull/3", ExportedAt: t0}
	err := db.Update(ctx, func(tx bot.Tx) error {
		if err := tx.AddFollowUp(&f); err != nil {
			return err
		}
		if err := tx.SetImpact(inc.ID, bot.ImpactAnchors{StartedAt: t0, StartedBy: "U1"}); err != nil {
			return err
		}
		a, err := tx.Impact(inc.ID)
		if err != nil {
			return err
		}
		a.EndedAt, a.EndedBy = t0.Add(4*time.Hour+31*time.Minute), "U2"
		if err := tx.SetImpact(inc.ID, a); err != nil {
			return err
		}
		if err := tx.SetFollowUpIssue(f.ID, 1, "https://github.com/acme/pm/issues/1"); err != nil {
			return err
		}
		if err := tx.SaveExport(exp); err != nil {
			return err
		}
		exp.PRNumber = 4 // a second save replaces the record
		return tx.SaveExport(exp)
	})
	if err != nil {
		t.Fatal(err)
	}
	err = db.Update(ctx, func(tx bot.Tx) error { return tx.SetFollowUpIssue(999, 1, "x") })
	if bot.ErrorCode(err) != bot.ENOTFOUND {
		t.Errorf("SetFollowUpIssue(999) = %v, want ENOTFOUND", err)
	}

	// Everything survives a restart, times to the nanosecond.
	db.Close()
	db = open(t)
	fus, err := db.FollowUps(ctx, inc.ID)
	if err != nil || len(fus) != 1 {
		t.Fatalf("FollowUps = %+v, %v", fus, err)
	}
	f.IssueNumber, f.IssueURL = 1, "https://github.com/acme/pm/issues/1"
	if got := fus[0]; got != f {
		t.Errorf("follow-up = %+v, want %+v", got, f)
	}
	a, err := db.ImpactAnchors(ctx, inc.ID)
	if err != nil || !a.StartedAt.Equal(t0) || !a.EndedAt.Equal(t0.Add(4*time.Hour+31*time.Minute)) || a.StartedBy != "U1" || a.EndedBy != "U2" {
		t.Errorf("impact = %+v, %v", a, err)
	}
	got, err := db.PostmortemExport(ctx, inc.ID)
	if err != nil || got != exp {
		t.Errorf("export = %+v, %v; want %+v", got, err, exp)
	}
	if fus, _ := db.FollowUps(ctx, inc.ID+1); len(fus) != 0 {
		t.Errorf("another incident's follow-ups: %+v", fus)
	}
}
