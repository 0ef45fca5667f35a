package handlers

import (
	"context"
	"log/slog"
	"net/http"
	"strconv"
	"time"
)

// Pinger reports whether a dependency answers.
type Pinger interface {
	Ping(ctx context.Context) error
}

// Healthz answers 200 while the process is up.
func Healthz(w http.ResponseWriter, _ *http.Request) {
	WriteJSON(w, http.StatusOK, map[string]string{"status": "ok"})
}

// Readyz answers 200 when the database answers and can write (the store's
// Ping checks both), 503 with Retry-After otherwise.
func Readyz(db Pinger, log *slog.Logger) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
		defer cancel()
		if err := db.Ping(ctx); err != nil {
			log.Warn("readiness check failed", "err", err)
			w.Header().Set("Retry-After", strconv.Itoa(int(RetryAfterUnavailable/time.Second)))
			WriteJSON(w, http.StatusServiceUnavailable, ErrorBody{Error: "database unavailable: it does not answer or cannot write"})
			return
		}
		WriteJSON(w, http.StatusOK, map[string]string{"status": "ready"})
	}
}

// Routes is everything the HTTP server serves.
type Routes struct {
	DB           Pinger
	AlertWebhook *AlertWebhook
	Log          *slog.Logger
	// Extra mounts more handlers (Slack, vendor webhooks) by pattern.
	Extra map[string]http.Handler
	// BodyTimeout bounds how long one request's body may take to arrive
	// once its headers are read; zero means DefaultBodyTimeout.
	BodyTimeout time.Duration
}

// DefaultBodyTimeout is how long a request body may take to arrive. Every
// body sitrep accepts is at most 1 MiB and is sent by a vendor's server in
// one go; a client trickling it holds a connection for nothing. Slack's
// requests are answered within 3 s, so a body that takes longer than this is
// useless to Slack too.
const DefaultBodyTimeout = 10 * time.Second

// Handler builds the HTTP handler.
func (rt Routes) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("/healthz", Healthz)
	mux.Handle("/readyz", Readyz(rt.DB, rt.Log))
	mux.Handle("/webhooks/alert", rt.AlertWebhook)
	for pattern, h := range rt.Extra {
		mux.Handle(pattern, h)
	}
	timeout := rt.BodyTimeout
	if timeout <= 0 {
		timeout = DefaultBodyTimeout
	}
	return withBodyDeadline(mux, timeout)
}

// withBodyDeadline sets each request's read deadline so that its body must
// arrive within d: the server-wide ReadTimeout would have to fit the slowest
// endpoint, this fits every one of them.
func withBodyDeadline(next http.Handler, d time.Duration) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Body != nil && r.Body != http.NoBody {
			// An error means the connection does not support deadlines
			// (a test recorder, HTTP/2 through some proxies): nothing to bound.
			_ = http.NewResponseController(w).SetReadDeadline(time.Now().Add(d))
		}
		next.ServeHTTP(w, r)
	})
}
