package main

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/sitrep-io/sitrep/bot"
	"github.com/sitrep-io/sitrep/internal/storetest"
	"github.com/sitrep-io/sitrep/store"
	"github.com/sitrep-io/sitrep/store/postgres"
)

// snapshot is everything the bot reads back from a store, to compare a
// copy with its source.
type snapshot struct {
	Incidents  []bot.Incident
	Timelines  map[int64][]bot.Event
	Deliveries []bot.Delivery
	Runs       []bot.RunbookRun
	FollowUps  map[int64][]bot.FollowUp
	Impact     map[int64]bot.ImpactAnchors
	Exports    map[int64]bot.PostmortemExport
	Triage     map[int64]bot.Triage
	Summaries  map[int64]bot.MessageRef
}

type snapshotStore interface {
	bot.Store
	Deliveries(ctx context.Context, states ...bot.DeliveryState) ([]bot.Delivery, error)
}

func takeSnapshot(t *testing.T, db snapshotStore) snapshot {
	t.Helper()
	ctx := t.Context()
	s := snapshot{Timelines: map[int64][]bot.Event{}, FollowUps: map[int64][]bot.FollowUp{}, Impact: map[int64]bot.ImpactAnchors{},
		Exports: map[int64]bot.PostmortemExport{}, Triage: map[int64]bot.Triage{}, Summaries: map[int64]bot.MessageRef{}}
	var err error
	must := func(e error) {
		t.Helper()
		if e != nil && bot.ErrorCode(e) != bot.ENOTFOUND {
			t.Fatal(e)
		}
	}
	s.Incidents, err = db.Incidents(ctx, bot.IncidentFilter{All: true})
	must(err)
	for _, inc := range s.Incidents {
		s.Timelines[inc.ID], err = db.Timeline(ctx, inc.ID)
		must(err)
		s.FollowUps[inc.ID], err = db.FollowUps(ctx, inc.ID)
		must(err)
		s.Impact[inc.ID], err = db.ImpactAnchors(ctx, inc.ID)
		must(err)
		s.Exports[inc.ID], err = db.PostmortemExport(ctx, inc.ID)
		must(err)
		s.Triage[inc.ID], err = db.AlertTriage(ctx, inc.ID)
		must(err)
		s.Summaries[inc.ID], err = db.AlertSummaryRef(ctx, inc.ID)
		must(err)
	}
	s.Deliveries, err = db.Deliveries(ctx)
	must(err)
	s.Runs, err = db.RunbookRuns(ctx, bot.RunbookRunFilter{})
	must(err)
	return s
}

// fillSQLite makes a SQLite database with the real store: incidents (open
// with a dedup key, resolved, private), their timelines, outbox entries in
// every state, a runbook run, chat event marks and the postmortem and
// alert records.
func fillSQLite(t *testing.T, path string) {
	t.Helper()
	ctx := t.Context()
	db, err := store.Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	at := time.Date(2026, 3, 1, 9, 0, 0, 123456789, time.UTC)
	update := func(fn func(tx bot.Tx) error) {
		t.Helper()
		if err := db.Update(ctx, fn); err != nil {
			t.Fatal(err)
		}
	}
	var incs []bot.Incident
	update(func(tx bot.Tx) error {
		for i, title := range []string{"checkout 500s", "slow search", "private one"} {
			inc := storetest.NewIncident(title)
			inc.Labels = map[string]string{"service": strings.Fields(title)[0]}
			switch i {
			case 0:
				inc.Source, inc.DedupKey, inc.ChannelID, inc.ChannelName = "pagerduty", "PABC", "C1", "inc-1-checkout"
			case 1:
				inc.Status, inc.ResolvedAt = bot.StatusResolved, at.Add(time.Hour)
			case 2:
				inc.Private = true
			}
			if err := tx.CreateIncident(&inc); err != nil {
				return err
			}
			incs = append(incs, inc)
			for j := range 3 {
				ev := bot.Event{IncidentID: inc.ID, OccurredAt: at.Add(time.Duration(j) * time.Minute), RecordedAt: at, Kind: bot.KindNote,
					Actor: "U1", Text: "note", Data: map[string]any{"n": float64(j)}, DedupKey: map[bool]string{true: "k"}[j == 1]}
				if _, err := tx.AppendEvent(&ev); err != nil {
					return err
				}
			}
			for range 2 {
				if err := tx.Enqueue(bot.Delivery{Key: "incident:" + inc.Key(), Op: bot.OpPost, IncidentID: inc.ID,
					Payload: json.RawMessage(`{"text":"hi"}`), NextAttemptAt: at}); err != nil {
					return err
				}
			}
			if err := tx.Enqueue(bot.Delivery{Key: "card:" + inc.Key(), Op: bot.OpRefreshCard, IncidentID: inc.ID, Coalesce: "card:" + inc.Key(), NextAttemptAt: at}); err != nil {
				return err
			}
			if err := tx.Enqueue(bot.Delivery{Key: "card:" + inc.Key(), Op: bot.OpRefreshCard, IncidentID: inc.ID, Coalesce: "card:" + inc.Key(), NextAttemptAt: at}); err != nil {
				return err // supersedes the one before
			}
		}
		run := bot.RunbookRun{IncidentID: incs[0].ID, Runbook: "restart", Title: "Restart", Params: map[string]string{"svc": "api"},
			State: bot.RunSucceeded, RequestedBy: "U1", RequestedAt: at, UpdatedAt: at, NeedsApproval: true, TwoPerson: true,
			Approvers: [][]string{{"U2"}}, Steps: []bot.RunStep{{Name: "s", Action: "exec", Spec: json.RawMessage(`{}`), State: bot.StepSucceeded}}}
		if err := tx.CreateRunbookRun(&run); err != nil {
			return err
		}
		if _, err := tx.MarkChatEvent("slack", "Ev1", at, at.Add(-time.Hour)); err != nil {
			return err
		}
		fu := bot.FollowUp{IncidentID: incs[0].ID, Text: "add a retry", Owner: "U2", CreatedBy: "U1", CreatedAt: at}
		if err := tx.AddFollowUp(&fu); err != nil {
			return err
		}
		if err := tx.SetImpact(incs[0].ID, bot.ImpactAnchors{StartedAt: at, StartedBy: "U1"}); err != nil {
			return err
		}
		if err := tx.SaveExport(bot.PostmortemExport{IncidentID: incs[1].ID, Mode: "issue", IssueNumber: 9, IssueURL: "https://gh/9", ExportedAt: at}); err != nil {
			return err
		}
		if err := tx.SaveAlertTriage(bot.Triage{IncidentID: incs[0].ID, State: bot.TriageState("accepted"), ChannelID: "CT", MessageTS: "1.1", CreatedAt: at}); err != nil {
			return err
		}
		return tx.SetAlertSummaryRef(incs[0].ID, bot.MessageRef{ChannelID: "C1", TS: "2.2"})
	})
	// Outbox states: delivered, failed, retried (pending, one attempt),
	// sending (claimed when the server stopped), pending, superseded.
	claimed, err := db.ClaimDeliveries(ctx, at, 10)
	if err != nil || len(claimed) < 4 {
		t.Fatalf("claimed %d (%v), want the heads", len(claimed), err)
	}
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(db.CompleteDelivery(ctx, claimed[0].ID, []byte(`{"ts":"1.0"}`), at))
	must(db.FailDelivery(ctx, claimed[1].ID, "channel_not_found", at))
	must(db.RetryDelivery(ctx, claimed[2].ID, at.Add(time.Minute), "rate limited"))
	// claimed[3:] stay sending.
}

// TestDBCopy copies a SQLite database made by the real store into an empty
// PostgreSQL database: everything reads back the same through PostgreSQL's
// bot.Store (ids included), entries that were sending come back pending and
// uncertain, new rows get ids past the copied ones, and a second copy into
// the now non-empty database is refused, changing nothing.
func TestDBCopy(t *testing.T) {
	ctx := t.Context()
	path := filepath.Join(t.TempDir(), "sitrep.db")
	fillSQLite(t, path)
	src, err := store.Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	want := takeSnapshot(t, src)
	src.Close()
	sending := 0
	for i, d := range want.Deliveries {
		if d.State == bot.DeliverySending {
			want.Deliveries[i].State, want.Deliveries[i].Uncertain = bot.DeliveryPending, true
			sending++
		}
	}
	states := map[bot.DeliveryState]bool{}
	for _, d := range want.Deliveries {
		states[d.State] = true
	}
	if sending == 0 || len(states) != 4 { // pending, delivered, failed, superseded (+ the sending ones, now pending)
		t.Fatalf("the source's outbox has states %v and %d sending; the test wants every state", states, sending)
	}

	dbURL := pgURL(t)
	var out, errOut bytes.Buffer
	if code := run(context.Background(), []string{"db", "copy", path, dbURL}, testEnv(nil, &out, &errOut)); code != 0 {
		t.Fatalf("sitrep db copy: exit %d\n%s%s", code, out.String(), errOut.String())
	}
	if s := out.String(); !strings.Contains(s, "incidents") || !strings.Contains(s, "outbox") || strings.Contains(s, pgPassword) {
		t.Errorf("db copy printed:\n%s\nwant the tables copied, without the password", s)
	}

	dst, err := postgres.Open(ctx, dbURL)
	if err != nil {
		t.Fatal(err)
	}
	defer dst.Close()
	if got := takeSnapshot(t, dst); !reflect.DeepEqual(got, want) {
		t.Errorf("PostgreSQL after the copy differs from the SQLite source:\n got %+v\nwant %+v", got, want)
	}
	var fresh bool
	err = dst.Update(ctx, func(tx bot.Tx) error {
		var err error
		fresh, err = tx.MarkChatEvent("slack", "Ev1", time.Date(2026, 3, 1, 9, 1, 0, 0, time.UTC), time.Date(2026, 3, 1, 8, 0, 0, 0, time.UTC))
		return err
	})
	if err != nil || fresh {
		t.Errorf("chat event Ev1 after the copy: fresh %v, %v; want it remembered", fresh, err)
	}

	// New rows are numbered after the copied ones.
	inc := storetest.NewIncident("after the copy")
	if err := dst.Update(ctx, func(tx bot.Tx) error {
		if err := tx.CreateIncident(&inc); err != nil {
			return err
		}
		return tx.Enqueue(bot.Delivery{Key: "k", Op: bot.OpPost, IncidentID: inc.ID})
	}); err != nil {
		t.Fatalf("write after the copy: %v", err)
	}
	if last := want.Incidents[0].ID; inc.ID != last+1 {
		t.Errorf("new incident id = %d, want %d (after the copied ones)", inc.ID, last+1)
	}
	ds, _ := dst.Deliveries(ctx)
	if got, wantID := ds[len(ds)-1].ID, want.Deliveries[len(want.Deliveries)-1].ID+1; got != wantID {
		t.Errorf("new outbox id = %d, want %d", got, wantID)
	}

	t.Run("ErrTargetNotEmpty", func(t *testing.T) {
		before := takeSnapshot(t, dst)
		var out, errOut bytes.Buffer
		code := run(context.Background(), []string{"db", "copy", path, dbURL}, testEnv(nil, &out, &errOut))
		if code == 0 {
			t.Fatal("a copy into a non-empty database succeeded")
		}
		if msg := errOut.String(); !strings.Contains(msg, "not empty") || !strings.Contains(msg, "new database") || strings.Contains(msg, pgPassword) {
			t.Errorf("refusal says:\n%s\nwant why and what to do, without the password", msg)
		}
		if after := takeSnapshot(t, dst); !reflect.DeepEqual(after, before) {
			t.Error("the refused copy changed the database")
		}
	})
	t.Run("ErrSourceServed", func(t *testing.T) {
		lock, err := store.LockServer(path) // a running sitrep serve
		if err != nil {
			t.Fatal(err)
		}
		defer lock.Release()
		var errOut bytes.Buffer
		if code := run(context.Background(), []string{"db", "copy", path, pgURL(t)}, testEnv(nil, &bytes.Buffer{}, &errOut)); code == 0 ||
			!strings.Contains(errOut.String(), "stop its `sitrep serve` first") {
			t.Errorf("copy of a served file: exit %d, %s; want a refusal saying to stop the server", code, errOut.String())
		}
	})
	t.Run("ErrUsage", func(t *testing.T) {
		for _, args := range [][]string{{"db"}, {"db", "copy", path}, {"db", "copy", dbURL, path}, {"db", "move", path, dbURL}} {
			var errOut bytes.Buffer
			if code := run(context.Background(), args, testEnv(nil, &bytes.Buffer{}, &errOut)); code != 2 || !strings.Contains(errOut.String(), "usage: sitrep db copy") {
				t.Errorf("sitrep %v: exit %d, %q; want 2 and the usage", args, code, errOut.String())
			}
		}
	})
}

// TestDBCopyRefusesOtherSchema: a SQLite database with a table or a column
// the PostgreSQL schema lacks (another sitrep version) is not copied, and
// nothing is left in the target.
func TestDBCopyRefusesOtherSchema(t *testing.T) {
	for name, ddl := range map[string]string{
		"table":  `CREATE TABLE from_the_future (x TEXT)`,
		"column": `ALTER TABLE incidents ADD COLUMN from_the_future TEXT NOT NULL DEFAULT ''`,
	} {
		t.Run(name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "sitrep.db")
			fillSQLite(t, path)
			raw, err := sql.Open("sqlite", path)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := raw.Exec(ddl); err != nil {
				t.Fatal(err)
			}
			raw.Close()
			dbURL := pgURL(t)
			var errOut bytes.Buffer
			code := run(context.Background(), []string{"db", "copy", path, dbURL}, testEnv(nil, &bytes.Buffer{}, &errOut))
			if code == 0 || !strings.Contains(errOut.String(), "from_the_future") || !strings.Contains(errOut.String(), "sitrep migrate") {
				t.Errorf("copy of another schema: exit %d, %q; want a refusal naming it", code, errOut.String())
			}
			dst, err := postgres.Open(t.Context(), dbURL)
			if err != nil {
				t.Fatal(err)
			}
			defer dst.Close()
			if incs, err := dst.Incidents(t.Context(), bot.IncidentFilter{All: true}); err != nil || len(incs) != 0 {
				t.Errorf("after the refused copy the target has %d incidents (%v), want none", len(incs), err)
			}
		})
	}
}
