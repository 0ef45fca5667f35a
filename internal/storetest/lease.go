package storetest

import (
	"reflect"
	"testing"
	"time"

	"github.com/sitrep-io/sitrep/bot"
)

// testClaimLease: a claim is a lease. While it holds, no other handle takes
// the entry, whatever the claim's clock says; once it lapses (its claimer
// died), the next claim takes the entry over, marked uncertain, once, and
// the key's order still holds.
func testClaimLease(t *testing.T, open Opener) {
	alive, dead, other := open(t), open(t), open(t)
	dead.SetDeliveryLease(time.Millisecond) // a claimer that dies at once
	id := enqueue(t, alive, due("a", t0), due("b", t0), due("b", t0))

	if got, want := claim(t, alive, t0, 1), []int64{id[0]}; !reflect.DeepEqual(got, want) {
		t.Fatalf("alive claimed %v, want %v", got, want)
	}
	if got, want := claim(t, dead, t0, 1), []int64{id[1]}; !reflect.DeepEqual(got, want) {
		t.Fatalf("dead claimed %v, want %v", got, want)
	}

	// Leases go by real time: a claim whose clock is a day ahead takes
	// nothing from a live claimer. The lapsed lease comes back as soon as
	// the millisecond is over: wait for it, not for a guessed time.
	var got []bot.Delivery
	deadline := time.Now().Add(10 * time.Second)
	for len(got) == 0 && time.Now().Before(deadline) {
		ds, err := other.ClaimDeliveries(t.Context(), t0.Add(24*time.Hour), 10)
		if err != nil {
			t.Fatalf("ClaimDeliveries: %v", err)
		}
		got = ds
		time.Sleep(time.Millisecond)
	}
	if len(got) != 1 || got[0].ID != id[1] {
		t.Fatalf("after the lease lapsed other claimed %+v, want only %d (the dead claimer's; %d is alive's, %d waits for %d)",
			got, id[1], id[0], id[2], id[1])
	}
	if d := got[0]; !d.Uncertain || d.State != bot.DeliverySending || d.Attempts != 0 {
		t.Errorf("taken over = uncertain %v state %s attempts %d, want uncertain, sending, 0 attempts", d.Uncertain, d.State, d.Attempts)
	}
	if d := delivery(t, alive, id[0]); d.State != bot.DeliverySending || d.Uncertain {
		t.Errorf("alive's entry = %s uncertain %v, want still sending, certain", d.State, d.Uncertain)
	}
	// Taken over once; the key's next entry waits for it.
	if got := claim(t, other, t0.Add(24*time.Hour), 10); len(got) != 0 {
		t.Errorf("claimed again %v, want nothing", got)
	}
	if err := other.CompleteDelivery(t.Context(), id[1], nil, t0); err != nil {
		t.Fatal(err)
	}
	if got, want := claim(t, other, t0, 10), []int64{id[2]}; !reflect.DeepEqual(got, want) {
		t.Errorf("after completing the taken-over entry claimed %v, want %v", got, want)
	}
}
