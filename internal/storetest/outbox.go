package storetest

import (
	"encoding/json"
	"fmt"
	"reflect"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sitrep-io/sitrep/bot"
)

// enqueue stores deliveries in one transaction and returns their ids, in
// order (read back from the store, which assigns them).
func enqueue(t *testing.T, db Store, ds ...bot.Delivery) []int64 {
	t.Helper()
	before := len(deliveries(t, db))
	err := db.Update(t.Context(), func(tx bot.Tx) error {
		for _, d := range ds {
			if err := tx.Enqueue(d); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatalf("Enqueue: %v", err)
	}
	all := deliveries(t, db)
	var out []int64
	for _, d := range all[before:] {
		out = append(out, d.ID)
	}
	return out
}

func deliveries(t *testing.T, db Store, states ...bot.DeliveryState) []bot.Delivery {
	t.Helper()
	ds, err := db.Deliveries(t.Context(), states...)
	if err != nil {
		t.Fatalf("Deliveries: %v", err)
	}
	return ds
}

func delivery(t *testing.T, db Store, id int64) bot.Delivery {
	t.Helper()
	for _, d := range deliveries(t, db) {
		if d.ID == id {
			return d
		}
	}
	t.Fatalf("delivery %d not found", id)
	return bot.Delivery{}
}

func claim(t *testing.T, db Store, now time.Time, limit int) []int64 {
	t.Helper()
	ds, err := db.ClaimDeliveries(t.Context(), now, limit)
	if err != nil {
		t.Fatalf("ClaimDeliveries: %v", err)
	}
	out := []int64{}
	for _, d := range ds {
		if d.State != bot.DeliverySending {
			t.Errorf("claimed delivery %d has state %s, want %s", d.ID, d.State, bot.DeliverySending)
		}
		out = append(out, d.ID)
	}
	return out
}

func due(key string, at time.Time) bot.Delivery {
	return bot.Delivery{Key: key, Op: bot.OpPost, IncidentID: 1, Payload: json.RawMessage(`{"text":"` + key + `"}`), NextAttemptAt: at}
}

func testEnqueue(t *testing.T, open Opener) {
	db := open(t)
	id := enqueue(t, db,
		bot.Delivery{Key: "incident:7", Op: bot.OpInvite, IncidentID: 7, Payload: json.RawMessage(`{"users":["U1"]}`), NextAttemptAt: t0},
		bot.Delivery{Key: "channel:C1", Op: bot.OpPost}, // no payload, no time: due at once
	)
	if len(id) != 2 {
		t.Fatalf("enqueued %d, want 2", len(id))
	}
	got := delivery(t, db, id[0])
	want := bot.Delivery{ID: id[0], Key: "incident:7", Op: bot.OpInvite, IncidentID: 7, Payload: json.RawMessage(`{"users":["U1"]}`),
		State: bot.DeliveryPending, NextAttemptAt: t0, CreatedAt: got.CreatedAt}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("stored delivery =\n%+v\nwant\n%+v", got, want)
	}
	if got.CreatedAt.IsZero() {
		t.Error("CreatedAt not set")
	}

	plain := delivery(t, db, id[1])
	if got, want := string(plain.Payload), "{}"; got != want {
		t.Errorf("empty payload stored as %q, want %q", got, want)
	}
	// Without NextAttemptAt an entry is due at once, whatever the clock
	// the claim goes by (even one behind the wall clock).
	if got, want := claim(t, db, t0.Add(-time.Hour), 10), []int64{id[1]}; !reflect.DeepEqual(got, want) {
		t.Errorf("claimed %v, want %v", got, want)
	}
	if got, want := claim(t, db, t0, 10), []int64{id[0]}; !reflect.DeepEqual(got, want) {
		t.Errorf("claimed %v, want %v", got, want)
	}
}

func testClaimDeliveries(t *testing.T, open Opener) {
	db := open(t)
	ctx := t.Context()
	id := enqueue(t, db,
		due("a", t0),                   // 0: head of a
		due("a", t0),                   // 1: waits for 0
		due("b", t0.Add(time.Minute)),  // 2: not due at t0
		due("c", t0.Add(-time.Minute)), // 3: due first
		due("d", t0),                   // 4
	)

	t.Run("DueHeadsOldestFirst", func(t *testing.T) {
		if got, want := claim(t, db, t0, 2), []int64{id[3], id[0]}; !reflect.DeepEqual(got, want) {
			t.Errorf("claimed %v, want %v", got, want)
		}
		if got, want := claim(t, db, t0, 10), []int64{id[4]}; !reflect.DeepEqual(got, want) {
			t.Errorf("claimed %v, want %v", got, want)
		}
	})
	t.Run("NothingWhileHeadSending", func(t *testing.T) {
		if got := claim(t, db, t0, 10); len(got) != 0 {
			t.Errorf("claimed %v, want nothing (1 waits for 0, 2 is not due)", got)
		}
		if got, want := delivery(t, db, id[0]).State, bot.DeliverySending; got != want {
			t.Errorf("claimed delivery state = %s, want %s", got, want)
		}
	})
	t.Run("NextAfterComplete", func(t *testing.T) {
		at := t0.Add(time.Second)
		if err := db.CompleteDelivery(ctx, id[0], []byte(`{"ts":"1.0"}`), at); err != nil {
			t.Fatal(err)
		}
		got := delivery(t, db, id[0])
		if got.State != bot.DeliveryDelivered || got.Attempts != 1 || !got.DeliveredAt.Equal(at) || string(got.Result) != `{"ts":"1.0"}` {
			t.Errorf("completed delivery = state %s attempts %d delivered %v result %s", got.State, got.Attempts, got.DeliveredAt, got.Result)
		}
		if got, want := claim(t, db, t0, 10), []int64{id[1]}; !reflect.DeepEqual(got, want) {
			t.Errorf("claimed %v, want %v", got, want)
		}
	})
	t.Run("LaterWhenDue", func(t *testing.T) {
		if got, want := claim(t, db, t0.Add(time.Minute), 10), []int64{id[2]}; !reflect.DeepEqual(got, want) {
			t.Errorf("claimed %v, want %v", got, want)
		}
	})
}

func testRetryDelivery(t *testing.T, open Opener) {
	db := open(t)
	ctx := t.Context()
	id := enqueue(t, db, due("a", t0), due("a", t0), due("b", t0))
	if got, want := claim(t, db, t0, 10), []int64{id[0], id[2]}; !reflect.DeepEqual(got, want) {
		t.Fatalf("claimed %v, want %v", got, want)
	}
	next := t0.Add(30 * time.Second)
	if err := db.RetryDelivery(ctx, id[0], next, "rate limited"); err != nil {
		t.Fatal(err)
	}
	got := delivery(t, db, id[0])
	if got.State != bot.DeliveryPending || got.Attempts != 1 || got.LastError != "rate limited" || !got.NextAttemptAt.Equal(next) {
		t.Errorf("retried delivery = state %s attempts %d error %q next %v", got.State, got.Attempts, got.LastError, got.NextAttemptAt)
	}
	if got := claim(t, db, next.Add(-time.Nanosecond), 10); len(got) != 0 {
		t.Errorf("claimed %v before the retry is due, want nothing (and the key's later entry waits)", got)
	}
	if got, want := claim(t, db, next, 10), []int64{id[0]}; !reflect.DeepEqual(got, want) {
		t.Errorf("claimed %v when due, want %v", got, want)
	}
	if err := db.CompleteDelivery(ctx, id[0], nil, next); err != nil {
		t.Fatal(err)
	}
	got = delivery(t, db, id[0])
	if got.Attempts != 2 || got.LastError != "" || got.Result != nil {
		t.Errorf("completed after retry: attempts %d error %q result %q; want 2, no error, no result", got.Attempts, got.LastError, got.Result)
	}
}

func testFailDelivery(t *testing.T, open Opener) {
	db := open(t)
	ctx := t.Context()
	id := enqueue(t, db, due("a", t0), due("a", t0))
	claim(t, db, t0, 10)
	at := t0.Add(time.Second)
	if err := db.FailDelivery(ctx, id[0], "channel_not_found", at); err != nil {
		t.Fatal(err)
	}
	got := delivery(t, db, id[0])
	if got.State != bot.DeliveryFailed || got.Attempts != 1 || got.LastError != "channel_not_found" || !got.DeliveredAt.Equal(at) {
		t.Errorf("failed delivery = state %s attempts %d error %q at %v", got.State, got.Attempts, got.LastError, got.DeliveredAt)
	}
	// A failed entry does not block the rest of its key.
	if got, want := claim(t, db, t0, 10), []int64{id[1]}; !reflect.DeepEqual(got, want) {
		t.Errorf("claimed %v after a failure, want %v", got, want)
	}
}

func testCoalesce(t *testing.T, open Opener) {
	db := open(t)
	card := func(key string) bot.Delivery {
		d := due(key, t0)
		d.Op, d.Coalesce = bot.OpRefreshCard, "card:1"
		return d
	}
	first := enqueue(t, db, card("incident:1"))
	claim(t, db, t0, 10) // first is sending: it cannot be superseded
	rest := enqueue(t, db, card("incident:1"), due("incident:1", t0), card("incident:1"), card("incident:1"))
	other := card("incident:2")
	other.Coalesce = "card:2"
	otherID := enqueue(t, db, other)

	want := map[int64]bot.DeliveryState{
		first[0]:   bot.DeliverySending,
		rest[0]:    bot.DeliverySuperseded,
		rest[1]:    bot.DeliveryPending, // not a card refresh
		rest[2]:    bot.DeliverySuperseded,
		rest[3]:    bot.DeliveryPending, // the newest
		otherID[0]: bot.DeliveryPending, // another coalesce key
	}
	for id, state := range want {
		if got := delivery(t, db, id).State; got != state {
			t.Errorf("delivery %d state = %s, want %s", id, got, state)
		}
	}
	if got, want := len(deliveries(t, db, bot.DeliverySuperseded)), 2; got != want {
		t.Errorf("Deliveries(superseded) = %d, want %d", got, want)
	}
	if got, want := len(deliveries(t, db, bot.DeliveryPending, bot.DeliverySending)), 4; got != want {
		t.Errorf("Deliveries(pending, sending) = %d, want %d", got, want)
	}
}

// testRecoverDeliveries simulates a process that died with entries claimed:
// the file is closed and opened again, and the entries go back to pending,
// marked uncertain.
func testRecoverDeliveries(t *testing.T, open Opener) {
	db := open(t)
	id := enqueue(t, db, due("a", t0), due("a", t0), due("b", t0), due("c", t0))
	claimed := claim(t, db, t0, 2)
	if want := []int64{id[0], id[2]}; !reflect.DeepEqual(claimed, want) {
		t.Fatalf("claimed %v, want %v", claimed, want)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}

	db = open(t)
	n, err := db.RecoverDeliveries(t.Context())
	if err != nil {
		t.Fatalf("RecoverDeliveries: %v", err)
	}
	if got, want := n, len(claimed); got != want {
		t.Errorf("RecoverDeliveries = %d, want %d", got, want)
	}
	for _, d := range deliveries(t, db) {
		wantUncertain := d.ID == id[0] || d.ID == id[2]
		if d.State != bot.DeliveryPending || d.Uncertain != wantUncertain || d.Attempts != 0 {
			t.Errorf("delivery %d = state %s uncertain %v attempts %d, want pending, uncertain %v, 0 attempts",
				d.ID, d.State, d.Uncertain, d.Attempts, wantUncertain)
		}
	}
	if n, err := db.RecoverDeliveries(t.Context()); err != nil || n != 0 {
		t.Errorf("second RecoverDeliveries = %d, %v; want 0, nil", n, err)
	}
	// The recovered heads are claimed again, each once.
	if got, want := claim(t, db, t0, 10), []int64{id[0], id[2], id[3]}; !reflect.DeepEqual(got, want) {
		t.Errorf("claimed after recovery %v, want %v", got, want)
	}
	if got := claim(t, db, t0, 10); len(got) != 0 {
		t.Errorf("claimed again %v, want nothing", got)
	}
}

// testClaimsAreExclusiveAcrossHandles claims from several handles at once,
// as replicas do: every entry is claimed by exactly one claimer, and no key
// ever has two entries claimed at once.
func testClaimsAreExclusiveAcrossHandles(t *testing.T, open Opener) {
	const keys, perKey, claimers = 10, 5, 4
	dbs := []Store{open(t), open(t)}
	var ds []bot.Delivery
	for i := range keys * perKey {
		ds = append(ds, due(fmt.Sprintf("k%d", i%keys), t0))
	}
	ids := enqueue(t, dbs[0], ds...)
	keyOf := map[int64]string{}
	for i, id := range ids {
		keyOf[id] = ds[i].Key
	}

	var mu sync.Mutex
	claimedBy := map[int64]int{}
	sending := map[string]int64{} // key → its entry being delivered
	var wg sync.WaitGroup
	var failed atomic.Bool
	errs := make(chan error, claimers)
	for c := range claimers {
		db := dbs[c%len(dbs)]
		wg.Go(func() {
			for {
				got, err := db.ClaimDeliveries(t.Context(), t0, 3)
				if err != nil {
					failed.Store(true)
					errs <- err
					return
				}
				if len(got) == 0 {
					if failed.Load() {
						return
					}
					mu.Lock()
					done := len(claimedBy) == len(ids)
					mu.Unlock()
					if done {
						return
					}
					runtime.Gosched()
					continue
				}
				mu.Lock()
				for _, d := range got {
					claimedBy[d.ID]++
					if other, ok := sending[d.Key]; ok {
						t.Errorf("claimed %d of key %s while %d of that key is sending", d.ID, d.Key, other)
					}
					sending[d.Key] = d.ID
				}
				mu.Unlock()
				for _, d := range got {
					mu.Lock()
					delete(sending, d.Key)
					mu.Unlock()
					if err := db.CompleteDelivery(t.Context(), d.ID, nil, t0); err != nil {
						failed.Store(true)
						errs <- err
						return
					}
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatalf("claim: %v", err)
	}
	for _, id := range ids {
		if n := claimedBy[id]; n != 1 {
			t.Errorf("delivery %d (key %s) claimed %d times, want once", id, keyOf[id], n)
		}
	}
}

func prioritised(key string, at time.Time, priority int) bot.Delivery {
	d := due(key, at)
	d.Priority = priority
	return d
}

// testClaimByPriority: claims take the highest priority first, then the
// longest due; per-key order still holds, and an older entry of a key takes
// the priority of a later one (a person's card behind an alert's head).
func testClaimByPriority(t *testing.T, open Opener) {
	db := open(t)
	ctx := t.Context()
	id := enqueue(t, db,
		prioritised("storm1", t0.Add(-time.Minute), 1), // 0: due longest, low priority
		prioritised("storm2", t0, 1),                   // 1
		prioritised("person", t0, 14),                  // 2: a person's SEV1, due last
		prioritised("person", t0, 14),                  // 3: waits for 2 whatever its priority
		prioritised("later", t0.Add(time.Minute), 20),  // 4: not due at t0, however high
		prioritised("mixed", t0, 0),                    // 5: an alert's head …
	)
	if got := delivery(t, db, id[2]).Priority; got != 14 {
		t.Fatalf("stored priority = %d, want 14", got)
	}
	// … and a person's entry behind it raises it.
	id = append(id, enqueue(t, db, prioritised("mixed", t0, 12))...) // 6
	if got := delivery(t, db, id[5]).Priority; got != 12 {
		t.Errorf("the head of a key behind which a priority-12 entry waits has priority %d, want 12", got)
	}
	// A lower-priority entry does not lower what is queued.
	id = append(id, enqueue(t, db, prioritised("person", t0, 2))...) // 7
	if got := delivery(t, db, id[3]).Priority; got != 14 {
		t.Errorf("a later low-priority entry changed the priority of an older one to %d, want 14", got)
	}

	if got, want := claim(t, db, t0, 2), []int64{id[2], id[5]}; !reflect.DeepEqual(got, want) {
		t.Errorf("claimed %v, want the person's head %d then the raised head %d", got, id[2], id[5])
	}
	if got, want := claim(t, db, t0, 10), []int64{id[0], id[1]}; !reflect.DeepEqual(got, want) {
		t.Errorf("claimed %v, want the equal-priority storm heads, the longest due first: %v", got, want)
	}
	if err := db.CompleteDelivery(ctx, id[2], nil, t0); err != nil {
		t.Fatal(err)
	}
	// A deferred low-priority entry due again does not overtake a
	// higher-priority one that became due after it.
	if err := db.DeferDelivery(ctx, id[0], t0.Add(-time.Second), "paced"); err != nil {
		t.Fatal(err)
	}
	if got, want := claim(t, db, t0, 1), []int64{id[3]}; !reflect.DeepEqual(got, want) {
		t.Errorf("claimed %v, want the person's next entry %v before the deferred storm entry", got, want)
	}
	if got, want := claim(t, db, t0.Add(time.Minute), 10), []int64{id[4], id[0]}; !reflect.DeepEqual(got, want) {
		t.Errorf("claimed %v, want %v", got, want)
	}
}
