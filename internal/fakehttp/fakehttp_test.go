package fakehttp

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
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

func TestWait(t *testing.T) {
	never := make(chan struct{})
	if !Wait(httptest.NewRequest(http.MethodGet, "/", nil), never, time.Millisecond) {
		t.Error("Wait: the delay elapsed but Wait says it was cut short")
	}

	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	if Wait(httptest.NewRequest(http.MethodGet, "/", nil).WithContext(ctx), never, time.Hour) {
		t.Error("Wait: the request was cancelled but Wait says the delay elapsed")
	}

	done := make(chan struct{})
	close(done)
	if Wait(httptest.NewRequest(http.MethodGet, "/", nil), done, time.Hour) {
		t.Error("Wait: the fake closed but Wait says the delay elapsed")
	}
}

func TestRecorderHandle(t *testing.T) {
	var rec Recorder
	mux := http.NewServeMux()
	var served []string
	serve := func(w http.ResponseWriter, _ *http.Request, route string) {
		served = append(served, route)
		w.WriteHeader(http.StatusAccepted)
	}
	rec.Handle(mux, "/", serve)
	rec.Handle(mux, "GET /things/{id}", serve)
	for _, path := range []string{"/things/7", "/elsewhere"} {
		mux.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest(http.MethodGet, path, nil))
	}
	if want := []string{"GET /things/{id}", ""}; strings.Join(served, "|") != strings.Join(want, "|") {
		t.Errorf("serve saw routes %q, want %q", served, want)
	}
	calls := rec.Calls()
	if len(calls) != 2 || calls[0].Route != "GET /things/{id}" || calls[1].Route != "" || calls[1].Status != http.StatusAccepted {
		t.Errorf("recorded %+v", calls)
	}
}

func TestFaultsNext(t *testing.T) {
	var q Faults[string]
	if f := q.Next("a"); f != nil {
		t.Fatalf("nothing armed, Next = %q", *f)
	}
	q.Arm("a", "once", 1)
	if f := q.Next("a"); f == nil || *f != "once" {
		t.Fatalf("Next = %v, want once", f)
	}
	if f := q.Next("a"); f != nil {
		t.Fatalf("used up, Next = %q", *f)
	}
}
