package handlers

import (
	"context"
	"crypto/subtle"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/sitrep-io/sitrep/bot"
)

// AlertIngester is what the alert webhooks need from the domain.
type AlertIngester interface {
	IngestAlert(ctx context.Context, a bot.Alert) (bot.AlertOutcome, error)
}

// AlertWebhook serves POST /webhooks/alert: a generic alert from any
// monitoring system, authenticated with a bearer token.
type AlertWebhook struct {
	Alerts AlertIngester
	Token  string // the shared secret; empty disables the endpoint
	Log    *slog.Logger
}

// genericAlert is the documented body of the generic webhook.
type genericAlert struct {
	Title       string            `json:"title"`
	Severity    string            `json:"severity"`
	Status      string            `json:"status"`
	DedupKey    string            `json:"dedup_key"`
	Source      string            `json:"source"`
	OccurredAt  string            `json:"occurred_at"`
	Description string            `json:"description"`
	URL         string            `json:"url"`
	Labels      map[string]string `json:"labels"`
	Annotations map[string]string `json:"annotations"`
}

// alertResponse tells the sender what its alert did.
type alertResponse struct {
	Incident string `json:"incident,omitempty"`
	Opened   bool   `json:"opened"`
	Recorded bool   `json:"recorded"`
	Ignored  string `json:"ignored,omitempty"`
}

func (h *AlertWebhook) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, ok := bearerBody(w, r, h.Token,
		"the alert webhook is disabled: set SITREP_WEBHOOK_TOKEN on the server",
		"missing or wrong bearer token: send Authorization: Bearer <SITREP_WEBHOOK_TOKEN>")
	if !ok {
		return
	}
	alert, err := parseGenericAlert(body, domainNow(h.Alerts))
	if err != nil {
		WriteError(w, h.Log, err)
		return
	}
	out, err := h.Alerts.IngestAlert(r.Context(), alert)
	if err != nil {
		WriteError(w, h.Log, err)
		return
	}
	resp := alertResponse{Opened: out.Opened, Recorded: out.Recorded, Ignored: out.Ignored}
	status := http.StatusOK
	if out.Incident.ID != 0 {
		resp.Incident = out.Incident.Key()
	}
	if out.Opened {
		status = http.StatusCreated
	}
	h.Log.Info("alert received", "source", alert.Source, "incident", resp.Incident, "opened", out.Opened, "recorded", out.Recorded)
	WriteJSON(w, status, resp)
}

// bearerBody reads the body of a POST authenticated with the bearer token.
// Otherwise it answers the request itself and returns false: 405 for
// another method, 503 with disabled when no token is configured, 401 with
// wrong for a missing or wrong token, and ReadBody's errors.
func bearerBody(w http.ResponseWriter, r *http.Request, token, disabled, wrong string) ([]byte, bool) {
	if !allowMethod(w, r, http.MethodPost) {
		return nil, false
	}
	if token == "" {
		WriteJSON(w, http.StatusServiceUnavailable, ErrorBody{Error: disabled})
		return nil, false
	}
	if !bearerOK(r, token) {
		WriteJSON(w, http.StatusUnauthorized, ErrorBody{Error: wrong})
		return nil, false
	}
	return ReadBody(w, r)
}

// bearerOK checks the Authorization header in constant time.
func bearerOK(r *http.Request, token string) bool {
	got, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	return ok && subtle.ConstantTimeCompare([]byte(strings.TrimSpace(got)), []byte(token)) == 1
}

// parseGenericAlert validates the generic webhook body; every error names
// the field at fault.
func parseGenericAlert(body []byte, now time.Time) (bot.Alert, error) {
	var in genericAlert
	if err := DecodeJSON(body, &in); err != nil {
		return bot.Alert{}, err
	}
	if strings.TrimSpace(in.Title) == "" {
		return bot.Alert{}, bot.FieldErrorf("title", "required: a short description of what is wrong")
	}
	a := bot.Alert{
		Source: "webhook", DedupKey: in.DedupKey, Title: in.Title, Description: in.Description,
		Labels: in.Labels, Annotations: in.Annotations, URL: in.URL, Firing: true,
	}
	if s := strings.TrimSpace(in.Source); s != "" {
		a.Source = s
	}
	switch strings.ToLower(strings.TrimSpace(in.Status)) {
	case "", "firing":
	case "resolved":
		a.Firing = false
	default:
		return bot.Alert{}, bot.FieldErrorf("status", "%q: use firing or resolved", in.Status)
	}
	if in.Severity != "" {
		sev, err := SeverityOf(in.Severity)
		if err != nil {
			return bot.Alert{}, err
		}
		a.Severity = sev
	}
	if in.OccurredAt != "" {
		t, err := parseSourceTime("occurred_at", in.OccurredAt, now)
		if err != nil {
			return bot.Alert{}, err
		}
		a.OccurredAt = t
	}
	return a, nil
}

// severityWords maps the severity words monitoring tools use.
var severityWords = map[string]bot.Severity{
	"critical": bot.SEV1, "page": bot.SEV1,
	"error": bot.SEV2, "high": bot.SEV2,
	"warning": bot.SEV3, "medium": bot.SEV3,
	"info": bot.SEV4, "low": bot.SEV4,
}

// SeverityOf accepts SEV1..SEV4, 1..4, P1..P4 and the words critical,
// error/high, warning/medium, info/low.
func SeverityOf(s string) (bot.Severity, error) {
	if sev, ok := severityWords[strings.ToLower(strings.TrimSpace(s))]; ok {
		return sev, nil
	}
	sev, err := bot.ParseSeverity(s)
	if err != nil {
		return 0, bot.FieldErrorf("severity", "%q: use SEV1..SEV4 or critical, error, warning, info", s)
	}
	return sev, nil
}
