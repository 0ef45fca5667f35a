package fakehttp

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

func TestFaults(t *testing.T) {
	var q Faults[string]
	q.Arm("a", "twice", 2)
	q.Arm(AnyRoute, "always", -1)
	var got []string
	for range 4 {
		f, _ := q.Take("a")
		got = append(got, f)
	}
	if want := "twice twice always always"; strings.Join(got, " ") != want {
		t.Errorf("got %v, want %s", got, want)
	}
	if f, ok := q.Take("b"); !ok || f != "always" {
		t.Errorf("AnyRoute: %q %v", f, ok)
	}
	q.Clear()
	if _, ok := q.Take("a"); ok {
		t.Error("a fault survived Clear")
	}
	q.Arm("a", "once", 0)
	if _, ok := q.Take("a"); !ok {
		t.Error("times 0 must mean once")
	}
	if _, ok := q.Take("a"); ok {
		t.Error("a once-fault fired twice")
	}
}

func TestRecorder(t *testing.T) {
	var rec Recorder
	h := rec.Wrap("/x", func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		if string(body) != "hello" {
			t.Errorf("handler saw body %q", body)
		}
		w.WriteHeader(http.StatusTeapot)
	})
	srv := httptest.NewServer(h)
	defer srv.Close()
	resp, err := http.Post(srv.URL+"/x?q=1", "text/plain", strings.NewReader("hello"))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	calls := rec.CallsTo("/x")
	if len(calls) != 1 || calls[0].Status != http.StatusTeapot || string(calls[0].Body) != "hello" || calls[0].Query.Get("q") != "1" {
		t.Fatalf("calls %+v", calls)
	}
	if len(rec.CallsTo("/y")) != 0 {
		t.Error("CallsTo matched another route")
	}
}
