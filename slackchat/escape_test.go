package slackchat_test

import (
	"slices"
	"testing"
)

// TestUserTextNeverNotifies: a title and a status update a user typed with
// "<!channel>", "<!here>" and a raw mention notify no one in Slack; the
// mentions sitrep builds itself (the author of the update) stay live.
func TestUserTextNeverNotifies(t *testing.T) {
	w := newWorld(t)
	inc := w.declare("DB <!here> down & out")
	w.settle()
	inc = w.incident(inc.ID)
	if _, err := w.svc.PostUpdate(t.Context(), "U1", inc.ID, "<!channel> look <!everyone> <http://evil|x>"); err != nil {
		t.Fatal(err)
	}
	w.settle()
	w.requireNoFailures()
	var live []string
	for _, m := range w.srv.AllMessages() {
		for _, n := range m.Notifies() {
			if n != "@U1" {
				t.Errorf("message %q notifies %s; user text must be escaped", m.Text, n)
			}
			live = append(live, n)
		}
	}
	if !slices.Contains(live, "@U1") {
		t.Errorf("the update's author mention built by sitrep should stay live; notified %v", live)
	}
}
