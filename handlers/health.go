package handlers

import (
	"context"
	"log/slog"
	"net/http"
	"time"
)

// Pinger reports whether a dependency answers.
type Pinger interface {
	Ping(ctx context.Context) error
}

// Healthz answers 200 while the process is up.
func Healthz(w http.ResponseWriter, _ *http.Request) {
	writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
}

// Readyz answers 200 when the database answers, 503 otherwise.
func Readyz(db Pinger, log *slog.Logger) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
		defer cancel()
		if err := db.Ping(ctx); err != nil {
			log.Warn("readiness check failed", "err", err)
			writeJSON(w, http.StatusServiceUnavailable, errorBody{Error: "database unreachable"})
			return
		}
		writeJSON(w, http.StatusOK, map[string]string{"status": "ready"})
	}
}

// Routes is everything the HTTP server serves.
type Routes struct {
	DB           Pinger
	AlertWebhook *AlertWebhook
	Log          *slog.Logger
	// Extra mounts more handlers (Slack, vendor webhooks) by pattern.
	Extra map[string]http.Handler
}

// Handler builds the HTTP handler.
func (rt Routes) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("/healthz", Healthz)
	mux.Handle("/readyz", Readyz(rt.DB, rt.Log))
	mux.Handle("/webhooks/alert", rt.AlertWebhook)
	for pattern, h := range rt.Extra {
		mux.Handle(pattern, h)
	}
	return mux
}
