package handlers

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/sitrep-io/sitrep/bot"
)

// SourceRecorder is what the PagerDuty webhook needs from the domain.
type SourceRecorder interface {
	RecordSourceEvent(ctx context.Context, ev bot.SourceEvent) (bot.SourceOutcome, error)
}

// PagerDutyWebhook serves POST /webhooks/pagerduty: PagerDuty v3 webhooks,
// signed with the subscription's secret. It only records (one database
// transaction), so it answers well within PagerDuty's 5-second deadline;
// chat and PagerDuty calls go through the outbox.
type PagerDutyWebhook struct {
	Events SourceRecorder
	// Secrets are the accepted signing secrets (more than one while
	// rotating); none disables the endpoint.
	Secrets  []string
	Severity PagerDutySeverity
	Log      *slog.Logger
}

// PagerDutySeverity maps a PagerDuty incident to a severity: its priority's
// name when it has one listed, else its urgency.
type PagerDutySeverity struct {
	ByPriority map[string]bot.Severity // "P1" → SEV1
	ByUrgency  map[string]bot.Severity // "high" → SEV2
}

// DefaultPagerDutySeverity maps P1..P4 to SEV1..SEV4 (P5 to SEV4), high
// urgency to SEV2 and low to SEV3.
func DefaultPagerDutySeverity() PagerDutySeverity {
	return PagerDutySeverity{
		ByPriority: map[string]bot.Severity{"P1": bot.SEV1, "P2": bot.SEV2, "P3": bot.SEV3, "P4": bot.SEV4, "P5": bot.SEV4},
		ByUrgency:  map[string]bot.Severity{"high": bot.SEV2, "low": bot.SEV3},
	}
}

func (m PagerDutySeverity) of(d pdData) bot.Severity {
	if d.Priority != nil {
		if sev, ok := m.ByPriority[strings.ToUpper(strings.TrimSpace(d.Priority.Summary))]; ok {
			return sev
		}
	}
	return m.ByUrgency[strings.ToLower(d.Urgency)]
}

// maxSignatures bounds the v1= values checked, so a hostile header cannot
// make us compute without end.
const maxSignatures = 8

// pdIncidentEvents are the incident event types sitrep records; any other
// type is answered 2xx and ignored (PagerDuty disables a subscription after
// three dropped deliveries).
var pdIncidentEvents = map[string]bot.SourceEffect{
	"incident.triggered": bot.EffectNone, "incident.acknowledged": bot.EffectAcknowledge,
	"incident.unacknowledged": bot.EffectNone, "incident.resolved": bot.EffectResolve,
	"incident.reopened": bot.EffectReopen, "incident.escalated": bot.EffectNone,
	"incident.reassigned": bot.EffectNone, "incident.delegated": bot.EffectNone,
	"incident.priority_updated": bot.EffectNone, "incident.annotated": bot.EffectNone,
	"incident.responder.added": bot.EffectNone, "incident.responder.replied": bot.EffectNone,
	"incident.status_update_published": bot.EffectNone, "incident.conference_bridge.updated": bot.EffectNone,
}

func (h *PagerDutyWebhook) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if !allowMethod(w, r, http.MethodPost) {
		return
	}
	if len(h.Secrets) == 0 {
		WriteJSON(w, http.StatusServiceUnavailable, ErrorBody{Error: "the PagerDuty webhook is disabled: set PAGERDUTY_WEBHOOK_SECRET on the server"})
		return
	}
	body, ok := ReadBody(w, r)
	if !ok {
		return
	}
	if !ValidPagerDutySignature(r.Header.Get("X-PagerDuty-Signature"), body, h.Secrets) {
		WriteJSON(w, http.StatusUnauthorized, ErrorBody{Error: "missing or invalid X-PagerDuty-Signature: check PAGERDUTY_WEBHOOK_SECRET against the subscription's secret"})
		return
	}
	ev, err := parsePagerDutyEvent(body, domainNow(h.Events))
	if err != nil {
		WriteError(w, h.Log, err)
		return
	}
	effect, known := pdIncidentEvents[ev.EventType]
	if !known {
		h.Log.Info("PagerDuty event ignored", "event_type", ev.EventType, "event", ev.ID)
		WriteJSON(w, http.StatusOK, alertResponse{Ignored: "event type " + ev.EventType + " is not used"})
		return
	}
	se := h.sourceEvent(ev, effect, r.Header.Get("X-Webhook-Id"))
	out, err := h.Events.RecordSourceEvent(r.Context(), se)
	if err != nil {
		WriteError(w, h.Log, err)
		return
	}
	resp := alertResponse{Opened: out.Opened, Recorded: out.Recorded, Ignored: out.Ignored}
	if out.Incident.ID != 0 {
		resp.Incident = out.Incident.Key()
	}
	// Routine repeats are logged at debug: in an alert storm a line per
	// delivery floods the log and costs the server time for nothing new.
	level := slog.LevelDebug
	if out.Opened || effect != bot.EffectNone || out.Ignored != "" {
		level = slog.LevelInfo
	}
	h.Log.Log(r.Context(), level, "PagerDuty event received", "event_type", ev.EventType, "event", ev.ID, "pagerduty_incident", se.DedupKey,
		"incident", resp.Incident, "opened", out.Opened, "recorded", out.Recorded, "ignored", out.Ignored)
	WriteJSON(w, http.StatusOK, resp)
}

// ValidPagerDutySignature reports whether header (X-PagerDuty-Signature:
// "v1=<hex>[,v1=<hex>...]") holds the HMAC-SHA256 of body under any of
// secrets, compared in constant time. Several values arrive while
// PagerDuty rotates the subscription's secret.
func ValidPagerDutySignature(header string, body []byte, secrets []string) bool {
	parts := strings.Split(header, ",")
	if len(parts) > maxSignatures {
		parts = parts[:maxSignatures]
	}
	want := make([][]byte, 0, len(secrets))
	for _, s := range secrets {
		if s == "" {
			continue
		}
		mac := hmac.New(sha256.New, []byte(s))
		mac.Write(body)
		want = append(want, mac.Sum(nil))
	}
	ok := false
	for _, p := range parts {
		sig, found := strings.CutPrefix(strings.TrimSpace(p), "v1=")
		got, err := hex.DecodeString(sig)
		if !found || err != nil {
			continue
		}
		for _, w := range want {
			if hmac.Equal(got, w) {
				ok = true
			}
		}
	}
	return ok
}

// pdEnvelope is a v3 webhook body. PagerDuty adds fields over time; only
// those read are declared.
type pdEnvelope struct {
	Event *pdEvent `json:"event"`
}

type pdEvent struct {
	ID           string  `json:"id"`
	EventType    string  `json:"event_type"`
	ResourceType string  `json:"resource_type"`
	OccurredAt   string  `json:"occurred_at"`
	Agent        *pdRef  `json:"agent"`
	Data         *pdData `json:"data"`
	occurred     time.Time
}

type pdRef struct {
	ID      string `json:"id"`
	Summary string `json:"summary"`
	HTMLURL string `json:"html_url"`
}

// pdData is an incident, or for incident.annotated an incident_note (which
// names its incident in Incident and carries Content).
type pdData struct {
	ID               string  `json:"id"`
	Type             string  `json:"type"`
	HTMLURL          string  `json:"html_url"`
	Number           int     `json:"number"`
	Status           string  `json:"status"`
	IncidentKey      string  `json:"incident_key"` // optional: older deliveries omit it
	Title            string  `json:"title"`
	Service          *pdRef  `json:"service"`
	EscalationPolicy *pdRef  `json:"escalation_policy"`
	Assignees        []pdRef `json:"assignees"`
	Priority         *pdRef  `json:"priority"`
	Urgency          string  `json:"urgency"`
	Incident         *pdRef  `json:"incident"`
	Content          string  `json:"content"`
}

// incidentID is the PagerDuty incident the event is about.
func (d pdData) incidentID() string {
	if d.Type == "incident_note" && d.Incident != nil {
		return d.Incident.ID
	}
	return d.ID
}

// parsePagerDutyEvent decodes and validates a v3 webhook body; every error
// names the field at fault.
func parsePagerDutyEvent(body []byte, now time.Time) (pdEvent, error) {
	var env pdEnvelope
	if err := DecodeJSON(body, &env); err != nil {
		return pdEvent{}, err
	}
	ev := env.Event
	switch {
	case ev == nil:
		return pdEvent{}, bot.FieldErrorf("event", "required: a PagerDuty v3 webhook carries one event")
	case strings.TrimSpace(ev.ID) == "":
		return pdEvent{}, bot.FieldErrorf("event.id", "required")
	case strings.TrimSpace(ev.EventType) == "":
		return pdEvent{}, bot.FieldErrorf("event.event_type", "required")
	}
	if ev.OccurredAt != "" {
		t, err := parseSourceTime("event.occurred_at", ev.OccurredAt, now)
		if err != nil {
			return pdEvent{}, err
		}
		ev.occurred = t
	}
	if !strings.HasPrefix(ev.EventType, "incident.") {
		return *ev, nil // not about an incident: validated enough to be ignored
	}
	if ev.Data == nil {
		return pdEvent{}, bot.FieldErrorf("event.data", "required for %s", ev.EventType)
	}
	if ev.Data.Type == "incident_note" && (ev.Data.Incident == nil || ev.Data.Incident.ID == "") {
		return pdEvent{}, bot.FieldErrorf("event.data.incident.id", "required for an incident note")
	}
	if strings.TrimSpace(ev.Data.incidentID()) == "" {
		return pdEvent{}, bot.FieldErrorf("event.data.id", "required: the PagerDuty incident id")
	}
	return *ev, nil
}

// sourceEvent translates a parsed incident event into the domain's terms.
func (h *PagerDutyWebhook) sourceEvent(ev pdEvent, effect bot.SourceEffect, deliveryID string) bot.SourceEvent {
	d := *ev.Data
	se := bot.SourceEvent{
		Source: bot.PagerSource, DeliveryID: deliveryID, DedupKey: d.incidentID(), EventID: ev.ID,
		Type: ev.EventType, OccurredAt: ev.occurred, URL: d.HTMLURL, Effect: effect, Text: pdEventText(ev),
	}
	if ev.Agent != nil {
		se.Agent = ev.Agent.Summary
	}
	if ev.EventType == "incident.triggered" {
		se.Trigger = h.triggerAlert(ev)
	}
	return se
}

func (h *PagerDutyWebhook) triggerAlert(ev pdEvent) *bot.Alert {
	d := *ev.Data
	labels := map[string]string{"pagerduty.incident": d.ID, "pagerduty.urgency": d.Urgency}
	if d.Number > 0 {
		labels["pagerduty.number"] = strconv.Itoa(d.Number)
	}
	if d.EscalationPolicy != nil && d.EscalationPolicy.ID != "" {
		labels[bot.LabelEscalationPolicy] = d.EscalationPolicy.ID
	}
	desc := fmt.Sprintf("PagerDuty incident #%d", d.Number)
	if d.Service != nil && d.Service.Summary != "" {
		labels["pagerduty.service"] = d.Service.Summary
		desc += " on " + d.Service.Summary
	}
	if d.Priority != nil && d.Priority.Summary != "" {
		labels["pagerduty.priority"] = d.Priority.Summary
	}
	if d.IncidentKey != "" {
		labels["pagerduty.incident_key"] = d.IncidentKey
	}
	title := strings.TrimSpace(d.Title)
	if title == "" {
		title = desc
	}
	return &bot.Alert{
		Source: bot.PagerSource, DedupKey: d.ID, EventID: ev.ID, Title: title, Description: desc,
		Severity: h.Severity.of(d), Firing: true, OccurredAt: ev.occurred, Labels: labels, URL: d.HTMLURL,
	}
}

// pdEventText is the timeline line of a PagerDuty event.
func pdEventText(ev pdEvent) string {
	what := strings.ReplaceAll(strings.TrimPrefix(ev.EventType, "incident."), "_", " ")
	text := "PagerDuty: " + what
	d := ev.Data
	switch ev.EventType {
	case "incident.annotated":
		text = "PagerDuty note: " + d.Content
	case "incident.priority_updated":
		if d.Priority != nil {
			text += " to " + d.Priority.Summary
		} else {
			text += ": no priority"
		}
	case "incident.escalated", "incident.reassigned", "incident.delegated":
		if names := refNames(d.Assignees); names != "" {
			text += ", assigned to " + names
		}
	}
	if ev.Agent != nil && ev.Agent.Summary != "" {
		text += " (by " + ev.Agent.Summary + ")"
	}
	return text
}

func refNames(refs []pdRef) string {
	names := make([]string, 0, len(refs))
	for _, r := range refs {
		names = append(names, r.Summary)
	}
	return strings.Join(names, ", ")
}
