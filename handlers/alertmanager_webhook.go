package handlers

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/sitrep-io/sitrep/bot"
)

// GroupIngester is what the Alertmanager webhook needs from the domain.
type GroupIngester interface {
	IngestAlertGroup(ctx context.Context, g bot.AlertGroup) (bot.GroupOutcome, error)
}

// AlertmanagerSource is the alert source name of Alertmanager incidents.
const AlertmanagerSource = "alertmanager"

// AlertmanagerWebhook serves POST /webhooks/alertmanager: Prometheus
// Alertmanager's webhook (payload version 4), authenticated with a bearer
// token (Alertmanager's http_config.authorization). The groupKey is the
// dedup key: one incident per group; each alert (fingerprint + startsAt) is
// recorded once, and each resolved alert's end once.
type AlertmanagerWebhook struct {
	Alerts GroupIngester
	Token  string // the shared secret; empty disables the endpoint
	// Severity maps the severity label's value (lower case) to a
	// severity; nil takes DefaultAlertmanagerSeverity.
	Severity map[string]bot.Severity
	Log      *slog.Logger
}

// DefaultAlertmanagerSeverity maps critical to SEV1, error and high to SEV2,
// warning to SEV3 and info to SEV4.
func DefaultAlertmanagerSeverity() map[string]bot.Severity {
	return map[string]bot.Severity{"critical": bot.SEV1, "error": bot.SEV2, "high": bot.SEV2, "warning": bot.SEV3, "info": bot.SEV4}
}

// amNotification is Alertmanager's webhook body (version 4). Alertmanager
// adds fields over time (notification_reason, routeLabels); only those read
// are declared.
type amNotification struct {
	Version           string            `json:"version"`
	GroupKey          string            `json:"groupKey"`
	Status            string            `json:"status"`
	Receiver          string            `json:"receiver"`
	Alerts            []amAlert         `json:"alerts"`
	GroupLabels       map[string]string `json:"groupLabels"`
	CommonLabels      map[string]string `json:"commonLabels"`
	CommonAnnotations map[string]string `json:"commonAnnotations"`
	ExternalURL       string            `json:"externalURL"`
	TruncatedAlerts   int               `json:"truncatedAlerts"`
}

type amAlert struct {
	Status       string            `json:"status"`
	Labels       map[string]string `json:"labels"`
	Annotations  map[string]string `json:"annotations"`
	StartsAt     string            `json:"startsAt"`
	EndsAt       string            `json:"endsAt"`
	GeneratorURL string            `json:"generatorURL"`
	Fingerprint  string            `json:"fingerprint"`
	starts, ends time.Time
}

func (h *AlertmanagerWebhook) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, ok := bearerBody(w, r, h.Token,
		"the Alertmanager webhook is disabled: set SITREP_WEBHOOK_TOKEN on the server",
		"missing or wrong bearer token: set http_config.authorization.credentials to SITREP_WEBHOOK_TOKEN")
	if !ok {
		return
	}
	n, err := parseAlertmanager(body, domainNow(h.Alerts))
	if err != nil {
		WriteError(w, h.Log, err)
		return
	}
	out, err := h.Alerts.IngestAlertGroup(r.Context(), h.group(n))
	if err != nil {
		WriteError(w, h.Log, err)
		return
	}
	resp := groupResponse{Opened: out.Opened, Recorded: out.Recorded, Ignored: out.Ignored}
	status := http.StatusOK
	if out.Incident.ID != 0 {
		resp.Incident = out.Incident.Key()
	}
	if out.Opened {
		status = http.StatusCreated
	}
	if n.TruncatedAlerts > 0 {
		h.Log.Warn("Alertmanager truncated the notification; raise max_alerts to see every alert", "group", n.GroupKey, "truncated", n.TruncatedAlerts)
	}
	// Repeats of an open group are logged at debug: in an alert storm a
	// line per notification floods the log and costs the server time.
	level := slog.LevelDebug
	if out.Opened || out.Ignored != "" {
		level = slog.LevelInfo
	}
	h.Log.Log(r.Context(), level, "Alertmanager notification received", "group", n.GroupKey, "status", n.Status, "alerts", len(n.Alerts),
		"incident", resp.Incident, "opened", out.Opened, "recorded", out.Recorded, "ignored", out.Ignored)
	WriteJSON(w, status, resp)
}

// groupResponse tells Alertmanager (and a person testing with curl) what
// the notification did.
type groupResponse struct {
	Incident string `json:"incident,omitempty"`
	Opened   bool   `json:"opened"`
	Recorded int    `json:"recorded"`
	Ignored  string `json:"ignored,omitempty"`
}

// parseAlertmanager decodes and validates a notification; every error
// names the field at fault.
func parseAlertmanager(body []byte, now time.Time) (amNotification, error) {
	var n amNotification
	if err := DecodeJSON(body, &n); err != nil {
		return n, err
	}
	switch {
	case n.Version == "":
		return n, bot.FieldErrorf("version", "required: Alertmanager sends \"4\"")
	case n.Version != "4":
		return n, bot.FieldErrorf("version", "%q is not supported: use Alertmanager's webhook version 4", n.Version)
	case strings.TrimSpace(n.GroupKey) == "":
		return n, bot.FieldErrorf("groupKey", "required")
	case n.Status != "firing" && n.Status != "resolved":
		return n, bot.FieldErrorf("status", "%q: use firing or resolved", n.Status)
	case len(n.Alerts) == 0:
		return n, bot.FieldErrorf("alerts", "required: at least one alert")
	case n.TruncatedAlerts < 0:
		return n, bot.FieldErrorf("truncatedAlerts", "%d: a count of alerts left out cannot be negative", n.TruncatedAlerts)
	}
	for i := range n.Alerts {
		if err := n.Alerts[i].validate(fmt.Sprintf("alerts[%d]", i), now); err != nil {
			return n, err
		}
	}
	return n, nil
}

func (a *amAlert) validate(field string, now time.Time) error {
	if a.Status != "firing" && a.Status != "resolved" {
		return bot.FieldErrorf(field+".status", "%q: use firing or resolved", a.Status)
	}
	if strings.TrimSpace(a.Fingerprint) == "" {
		return bot.FieldErrorf(field+".fingerprint", "required")
	}
	t, err := parseSourceTime(field+".startsAt", a.StartsAt, now)
	if err != nil {
		return err
	}
	a.starts = t
	// A firing alert's endsAt is Alertmanager's guess at when it will
	// time out (or the zero time): only a resolved alert's end is a fact.
	if a.Status == "resolved" {
		if a.EndsAt == "" {
			return bot.FieldErrorf(field+".endsAt", "a resolved alert needs its end time")
		}
		t, err := parseSourceTime(field+".endsAt", a.EndsAt, now)
		if err != nil {
			return err
		}
		if t.Before(a.starts) {
			return bot.FieldErrorf(field+".endsAt", "%s is before the alert's startsAt %s", a.EndsAt, a.StartsAt)
		}
		a.ends = t
	}
	if a.title("") == "" {
		return bot.FieldErrorf(field+".labels.alertname", "required when there is no summary annotation")
	}
	return nil
}

// title is the alert's summary annotation, else its alertname, else def.
func (a *amAlert) title(def string) string {
	for _, t := range []string{a.Annotations["summary"], a.Labels["alertname"], def} {
		if t = strings.TrimSpace(t); t != "" {
			return t
		}
	}
	return ""
}

// group translates a notification into the domain's terms.
func (h *AlertmanagerWebhook) group(n amNotification) bot.AlertGroup {
	sev := h.groupSeverity(n)
	g := bot.AlertGroup{Source: AlertmanagerSource, DedupKey: n.GroupKey, Title: groupTitle(n)}
	for _, a := range n.Alerts {
		ba := bot.Alert{
			Title: a.title(g.Title), Severity: sev, Firing: a.Status == "firing", OccurredAt: a.starts,
			Labels: a.Labels, Annotations: a.Annotations, URL: a.GeneratorURL,
			// The alert's identity at the source: a repeat of the group
			// resends it with the same fingerprint and start, so it is
			// recorded once; its end is a fact of its own.
			EventID: AlertmanagerEventID(a.Fingerprint, a.starts, time.Time{}),
		}
		if !ba.Firing {
			ba.OccurredAt = a.ends
			ba.EventID = AlertmanagerEventID(a.Fingerprint, a.starts, a.ends)
		}
		g.Alerts = append(g.Alerts, ba)
	}
	return g
}

// AlertmanagerEventID identifies an alert's start (ends zero) or its end.
func AlertmanagerEventID(fingerprint string, starts, ends time.Time) string {
	id := "am:" + fingerprint + "@" + starts.UTC().Format(time.RFC3339Nano)
	if !ends.IsZero() {
		id += "/end@" + ends.UTC().Format(time.RFC3339Nano)
	}
	return id
}

// groupTitle names the group's incident: the common summary, the common
// alertname, or the first alert's title.
func groupTitle(n amNotification) string {
	for _, t := range []string{n.CommonAnnotations["summary"], n.CommonLabels["alertname"], n.GroupLabels["alertname"]} {
		if t = strings.TrimSpace(t); t != "" {
			return t
		}
	}
	return n.Alerts[0].title("")
}

// groupSeverity is the most severe of the firing alerts' severity labels
// (all alerts when none fires); 0 (the default severity) when none maps.
func (h *AlertmanagerWebhook) groupSeverity(n amNotification) bot.Severity {
	m := h.Severity
	if m == nil {
		m = DefaultAlertmanagerSeverity()
	}
	var best bot.Severity
	for _, firingOnly := range []bool{true, false} {
		for _, a := range n.Alerts {
			if firingOnly && a.Status != "firing" {
				continue
			}
			if sev, ok := m[strings.ToLower(strings.TrimSpace(a.Labels["severity"]))]; ok && (best == 0 || sev < best) {
				best = sev
			}
		}
		if best != 0 {
			break
		}
	}
	return best
}
