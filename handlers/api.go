package handlers

import (
	"bytes"
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/sitrep-io/sitrep/bot"
)

// The REST API (/api/v1, docs/api.md): incidents, their timelines, the
// corrections of bot/corrections.go, impact times, the postmortem draft and
// its export. It takes only a bearer token, never a cookie, so a page a
// browser opens can never act on it (no CSRF); each token has a name, which
// is the actor ("api:<name>") on the timeline.

// APIToken is one REST API credential, stored as the SHA-256 of the token
// so that the configuration holds no secret.
type APIToken struct {
	Name string
	Hash [sha256.Size]byte
	// Private lets the token see and change private incidents; without it
	// they do not exist for the token (404), as for anyone outside their
	// channel.
	Private bool
}

// ParseAPITokens reads "name:sha256hex[:private],…".
func ParseAPITokens(s string) ([]APIToken, error) {
	var out []APIToken
	seen := map[string]bool{}
	for _, item := range strings.Split(s, ",") {
		item = strings.TrimSpace(item)
		if item == "" {
			continue
		}
		parts := strings.Split(item, ":")
		if len(parts) < 2 || len(parts) > 3 || (len(parts) == 3 && parts[2] != "private") {
			return nil, fmt.Errorf("%q: write name:sha256hex or name:sha256hex:private (sitrep api-token NAME prints one)", redactHash(item))
		}
		name, h := parts[0], parts[1]
		if !validTokenName(name) {
			return nil, fmt.Errorf("token name %q: use letters, digits, '-' and '_' (it is the actor on the timeline)", name)
		}
		if seen[name] {
			return nil, fmt.Errorf("token name %q is listed twice", name)
		}
		raw, err := hex.DecodeString(h)
		if err != nil || len(raw) != sha256.Size {
			return nil, fmt.Errorf("token %q: the hash must be 64 hex digits, the SHA-256 of the token (sitrep api-token %s prints it)", name, name)
		}
		t := APIToken{Name: name, Private: len(parts) == 3}
		copy(t.Hash[:], raw)
		seen[name] = true
		out = append(out, t)
	}
	return out, nil
}

// redactHash keeps a malformed entry's name only: the rest may be a token
// pasted by mistake instead of its hash.
func redactHash(item string) string {
	name, _, _ := strings.Cut(item, ":")
	return name + ":…"
}

func validTokenName(s string) bool {
	if s == "" || len(s) > 64 {
		return false
	}
	for _, r := range s {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '_') {
			return false
		}
	}
	return true
}

// HashAPIToken is how a token is stored in the configuration.
func HashAPIToken(token string) string {
	h := sha256.Sum256([]byte(token))
	return hex.EncodeToString(h[:])
}

// API serves /api/v1.
type API struct {
	Service     *bot.Service
	Postmortems *bot.Postmortems      // impact, export; nil: those endpoints answer 503
	Drafter     bot.PostmortemDrafter // the draft; nil: 503
	Tokens      []APIToken
	Log         *slog.Logger
}

// Page sizes: a client asks for up to the maximum with ?limit=.
const (
	apiDefaultIncidents = 50
	apiMaxIncidents     = 500
	apiDefaultEvents    = 500
	apiMaxEvents        = 5000
)

// Handler routes /api/v1/.
func (a *API) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /api/v1/incidents", a.listIncidents)
	mux.HandleFunc("GET /api/v1/incidents/{key}", a.withIncident(a.getIncident))
	mux.HandleFunc("GET /api/v1/incidents/{key}/timeline", a.withIncident(a.getTimeline))
	mux.HandleFunc("POST /api/v1/incidents/{key}/events", a.withIncident(a.addEvent))
	mux.HandleFunc("PATCH /api/v1/incidents/{key}/events/{event}", a.withIncident(a.correctEvent))
	mux.HandleFunc("PUT /api/v1/incidents/{key}/impact", a.withIncident(a.setImpact))
	mux.HandleFunc("GET /api/v1/incidents/{key}/postmortem", a.withIncident(a.getPostmortem))
	mux.HandleFunc("POST /api/v1/incidents/{key}/export", a.withIncident(a.export))
	mux.HandleFunc("/api/", func(w http.ResponseWriter, r *http.Request) {
		// The catch-all: say 405 (and what is allowed) for a known path with
		// another method, 404 for an unknown path, in the error form.
		var allow []string
		for _, m := range []string{http.MethodGet, http.MethodPost, http.MethodPut, http.MethodPatch} {
			probe := r.Clone(r.Context())
			probe.Method = m
			if _, pattern := mux.Handler(probe); pattern != "/api/" {
				allow = append(allow, m)
			}
		}
		if len(allow) > 0 {
			w.Header().Set("Allow", strings.Join(allow, ", "))
			WriteJSON(w, http.StatusMethodNotAllowed, ErrorBody{Error: "use " + strings.Join(allow, " or ") + " here"})
			return
		}
		WriteJSON(w, http.StatusNotFound, ErrorBody{Error: "no such API endpoint: see docs/api.md"})
	})
	return a.authenticated(mux)
}

type tokenKey struct{}

// authenticated lets through requests with a configured bearer token. A
// cookie is never a credential here.
func (a *API) authenticated(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "no-store")
		if len(a.Tokens) == 0 {
			WriteJSON(w, http.StatusServiceUnavailable, ErrorBody{Error: "the REST API is off: set SITREP_API_TOKENS (sitrep api-token NAME prints a token and its line)"})
			return
		}
		got, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
		if !ok || strings.TrimSpace(got) == "" {
			w.Header().Set("WWW-Authenticate", `Bearer realm="sitrep"`)
			WriteJSON(w, http.StatusUnauthorized, ErrorBody{Error: "send Authorization: Bearer <token> (the API takes no cookies)"})
			return
		}
		sum := sha256.Sum256([]byte(strings.TrimSpace(got)))
		var match *APIToken
		for i := range a.Tokens { // every hash compared, in constant time
			if subtle.ConstantTimeCompare(sum[:], a.Tokens[i].Hash[:]) == 1 {
				match = &a.Tokens[i]
			}
		}
		if match == nil {
			w.Header().Set("WWW-Authenticate", `Bearer realm="sitrep", error="invalid_token"`)
			WriteJSON(w, http.StatusUnauthorized, ErrorBody{Error: "unknown bearer token"})
			return
		}
		next.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), tokenKey{}, *match)))
	})
}

func tokenOf(r *http.Request) APIToken { t, _ := r.Context().Value(tokenKey{}).(APIToken); return t }

// actorOf names the caller on the timeline.
func actorOf(r *http.Request) string { return "api:" + tokenOf(r).Name }

// withIncident loads the incident named in the path, hiding a private one
// from a token that may not see it.
func (a *API) withIncident(h func(w http.ResponseWriter, r *http.Request, inc bot.Incident)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		id, err := bot.ParseIncidentKey(r.PathValue("key"))
		if err != nil {
			a.fail(w, err)
			return
		}
		inc, err := a.Service.Incident(r.Context(), id)
		if err == nil && inc.Private && !tokenOf(r).Private {
			err = bot.Errorf(bot.ENOTFOUND, "no incident %s", bot.IncidentKey(id))
		}
		if err != nil {
			a.fail(w, err)
			return
		}
		h(w, r, inc)
	}
}

func (a *API) fail(w http.ResponseWriter, err error) {
	log := a.Log
	if log == nil {
		log = slog.Default()
	}
	WriteError(w, log, err)
}

// IncidentJSON is an incident as the API shows it.
type IncidentJSON struct {
	ID             string            `json:"id"`
	Number         int64             `json:"number"`
	Title          string            `json:"title"`
	Description    string            `json:"description"`
	Severity       string            `json:"severity"`
	Status         string            `json:"status"`
	Private        bool              `json:"private"`
	Commander      string            `json:"commander,omitempty"`
	CommsLead      string            `json:"comms_lead,omitempty"`
	ChannelID      string            `json:"channel_id,omitempty"`
	ChannelName    string            `json:"channel_name,omitempty"`
	Source         string            `json:"source"`
	SourceURL      string            `json:"source_url,omitempty"`
	Labels         map[string]string `json:"labels"`
	DetectedAt     *time.Time        `json:"detected_at"`
	DeclaredAt     *time.Time        `json:"declared_at"`
	AcknowledgedAt *time.Time        `json:"acknowledged_at"`
	MitigatedAt    *time.Time        `json:"mitigated_at"`
	ResolvedAt     *time.Time        `json:"resolved_at"`
	LastUpdateAt   *time.Time        `json:"last_update_at"`
	// Seconds from detection; null until the key time is set.
	TimeToAcknowledge *float64 `json:"time_to_acknowledge_seconds"`
	TimeToResolve     *float64 `json:"time_to_resolve_seconds"`
}

func incidentJSON(inc bot.Incident) IncidentJSON {
	labels := inc.Labels
	if labels == nil {
		labels = map[string]string{}
	}
	return IncidentJSON{ID: inc.Key(), Number: inc.ID, Title: inc.Title, Description: inc.Description,
		Severity: inc.Severity.String(), Status: string(inc.Status), Private: inc.Private,
		Commander: inc.Commander, CommsLead: inc.CommsLead, ChannelID: inc.ChannelID, ChannelName: inc.ChannelName,
		Source: inc.Source, SourceURL: inc.SourceURL, Labels: labels,
		DetectedAt: timeOrNull(inc.DetectedAt), DeclaredAt: timeOrNull(inc.DeclaredAt),
		AcknowledgedAt: timeOrNull(inc.AcknowledgedAt), MitigatedAt: timeOrNull(inc.MitigatedAt),
		ResolvedAt: timeOrNull(inc.ResolvedAt), LastUpdateAt: timeOrNull(inc.LastUpdateAt),
		TimeToAcknowledge: since(inc.DetectedAt, inc.AcknowledgedAt), TimeToResolve: since(inc.DetectedAt, inc.ResolvedAt)}
}

func timeOrNull(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	u := t.UTC()
	return &u
}

func since(from, to time.Time) *float64 {
	if from.IsZero() || to.IsZero() {
		return nil
	}
	s := to.Sub(from).Seconds()
	return &s
}

// EventJSON is a timeline event as the API shows it.
type EventJSON struct {
	ID         int64          `json:"id"`
	OccurredAt time.Time      `json:"occurred_at"`
	RecordedAt time.Time      `json:"recorded_at"`
	Kind       string         `json:"kind"`
	Actor      string         `json:"actor"`
	Text       string         `json:"text"`
	Data       map[string]any `json:"data"`
	SourceURL  string         `json:"source_url,omitempty"`
	Hidden     bool           `json:"hidden"`
}

func eventJSON(ev bot.Event) EventJSON {
	data := ev.Data
	if data == nil {
		data = map[string]any{}
	}
	return EventJSON{ID: ev.ID, OccurredAt: ev.OccurredAt.UTC(), RecordedAt: ev.RecordedAt.UTC(), Kind: string(ev.Kind),
		Actor: ev.Actor, Text: ev.Text, Data: data, SourceURL: ev.SourceURL, Hidden: ev.Hidden}
}

// pageLimit reads ?limit=, 1 to max.
func pageLimit(r *http.Request, def, max int) (int, error) {
	v := r.URL.Query().Get("limit")
	if v == "" {
		return def, nil
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 1 || n > max {
		return 0, bot.FieldErrorf("limit", "%q: give a number from 1 to %d", v, max)
	}
	return n, nil
}

func (a *API) listIncidents(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	limit, err := pageLimit(r, apiDefaultIncidents, apiMaxIncidents)
	if err != nil {
		a.fail(w, err)
		return
	}
	f := bot.IncidentFilter{NewestFirst: true}
	switch q.Get("state") {
	case "", "all":
		f.All = true
	case "open":
	default:
		a.fail(w, bot.FieldErrorf("state", "%q: use open or all", q.Get("state")))
		return
	}
	if c := q.Get("cursor"); c != "" {
		n, err := strconv.ParseInt(c, 10, 64)
		if err != nil || n < 1 {
			a.fail(w, bot.FieldErrorf("cursor", "%q is not a cursor: pass next_cursor from the previous page", c))
			return
		}
		f.Before = n
	}
	out := struct {
		Incidents  []IncidentJSON `json:"incidents"`
		NextCursor string         `json:"next_cursor,omitempty"`
	}{Incidents: []IncidentJSON{}}
	private := tokenOf(r).Private
	// Private incidents a token may not see are skipped, so a page may need
	// more than one read to fill; one incident more than the page tells
	// whether there is a next page.
	for done := false; !done; {
		f.Limit = limit - len(out.Incidents) + 1
		incs, err := a.Service.Incidents(r.Context(), f)
		if err != nil {
			a.fail(w, err)
			return
		}
		for _, inc := range incs {
			if len(out.Incidents) == limit {
				out.NextCursor = strconv.FormatInt(f.Before, 10)
				done = true
				break
			}
			f.Before = inc.ID
			if !inc.Private || private {
				out.Incidents = append(out.Incidents, incidentJSON(inc))
			}
		}
		done = done || len(incs) < f.Limit
	}
	WriteJSON(w, http.StatusOK, out)
}

func (a *API) getIncident(w http.ResponseWriter, r *http.Request, inc bot.Incident) {
	WriteJSON(w, http.StatusOK, incidentJSON(inc))
}

// timelineCursor is the place after an event in the timeline's order
// (occurred_at, id): stable while events are added, and a corrected time
// moves an event, never a page boundary.
func timelineCursor(ev bot.Event) string {
	return base64.RawURLEncoding.EncodeToString(fmt.Appendf(nil, "%d.%d", ev.OccurredAt.UnixNano(), ev.ID))
}

func parseTimelineCursor(s string) (time.Time, int64, error) {
	raw, err := base64.RawURLEncoding.DecodeString(s)
	if err == nil {
		at, id, ok := strings.Cut(string(raw), ".")
		ns, err1 := strconv.ParseInt(at, 10, 64)
		n, err2 := strconv.ParseInt(id, 10, 64)
		if ok && err1 == nil && err2 == nil {
			return time.Unix(0, ns).UTC(), n, nil
		}
	}
	return time.Time{}, 0, bot.FieldErrorf("cursor", "%q is not a cursor: pass next_cursor from the previous page", s)
}

func (a *API) getTimeline(w http.ResponseWriter, r *http.Request, inc bot.Incident) {
	limit, err := pageLimit(r, apiDefaultEvents, apiMaxEvents)
	if err != nil {
		a.fail(w, err)
		return
	}
	var afterAt time.Time
	var afterID int64
	if c := r.URL.Query().Get("cursor"); c != "" {
		if afterAt, afterID, err = parseTimelineCursor(c); err != nil {
			a.fail(w, err)
			return
		}
	}
	events, err := a.Service.Timeline(r.Context(), inc.ID)
	if err != nil {
		a.fail(w, err)
		return
	}
	out := struct {
		Incident   string      `json:"incident"`
		Events     []EventJSON `json:"events"`
		NextCursor string      `json:"next_cursor,omitempty"`
	}{Incident: inc.Key(), Events: []EventJSON{}}
	for _, ev := range events {
		if afterID != 0 && (ev.OccurredAt.Before(afterAt) || ev.OccurredAt.Equal(afterAt) && ev.ID <= afterID) {
			continue
		}
		if len(out.Events) == limit {
			out.NextCursor = timelineCursor(lastOf(out.Events))
			break
		}
		out.Events = append(out.Events, eventJSON(ev))
	}
	WriteJSON(w, http.StatusOK, out)
}

func lastOf(evs []EventJSON) bot.Event {
	l := evs[len(evs)-1]
	return bot.Event{ID: l.ID, OccurredAt: l.OccurredAt}
}

// decodeAPIBody reads a JSON object into v: unknown fields, repeated keys,
// trailing data and bodies over 1 MiB are refused with 400/413 before
// anything is done.
func decodeAPIBody(w http.ResponseWriter, r *http.Request, v any) bool {
	if ct := r.Header.Get("Content-Type"); ct != "" && !strings.HasPrefix(ct, "application/json") {
		WriteJSON(w, http.StatusUnsupportedMediaType, ErrorBody{Error: "send Content-Type: application/json"})
		return false
	}
	body, ok := ReadBody(w, r)
	if !ok {
		return false
	}
	if dup, _ := firstDuplicateKey(body); dup != nil { // decode.go: as the webhooks refuse them
		WriteError(w, slog.Default(), dup) // a 400 naming the key: nothing is logged
		return false
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		field := ""
		var te *json.UnmarshalTypeError
		if errors.As(err, &te) {
			field = te.Field
		}
		if f, ok := strings.CutPrefix(err.Error(), "json: unknown field "); ok {
			field = strings.Trim(f, `"`)
		}
		WriteJSON(w, http.StatusBadRequest, ErrorBody{Error: "malformed JSON: " + err.Error(), Field: field})
		return false
	}
	if dec.More() || dec.InputOffset() < int64(len(bytes.TrimRight(body, " \t\r\n"))) {
		WriteJSON(w, http.StatusBadRequest, ErrorBody{Error: "malformed JSON: data after the object"})
		return false
	}
	return true
}

// apiTime reads an RFC 3339 time from a request field.
func apiTime(field, v string) (time.Time, error) {
	t, err := time.Parse(time.RFC3339Nano, v)
	if err != nil {
		return time.Time{}, bot.FieldErrorf(field, "%q: give the time in RFC 3339, e.g. 2026-03-14T00:13:00Z", v)
	}
	return t, nil
}

func (a *API) addEvent(w http.ResponseWriter, r *http.Request, inc bot.Incident) {
	var req struct {
		OccurredAt string `json:"occurred_at"`
		Text       string `json:"text"`
	}
	if !decodeAPIBody(w, r, &req) {
		return
	}
	if req.OccurredAt == "" {
		a.fail(w, bot.FieldErrorf("occurred_at", "give the time it happened, in RFC 3339"))
		return
	}
	at, err := apiTime("occurred_at", req.OccurredAt)
	if err != nil {
		a.fail(w, err)
		return
	}
	ev, err := a.Service.AddOffChatEvent(r.Context(), actorOf(r), inc.ID, at, req.Text)
	if err != nil {
		a.fail(w, err)
		return
	}
	WriteJSON(w, http.StatusCreated, eventJSON(ev))
}

func (a *API) correctEvent(w http.ResponseWriter, r *http.Request, inc bot.Incident) {
	eventID, err := strconv.ParseInt(r.PathValue("event"), 10, 64)
	if err != nil || eventID < 1 {
		a.fail(w, bot.FieldErrorf("event", "%q is not an event id: take it from the timeline", r.PathValue("event")))
		return
	}
	var req struct {
		OccurredAt *string `json:"occurred_at"`
		Hidden     *bool   `json:"hidden"`
		Reason     string  `json:"reason"`
	}
	if !decodeAPIBody(w, r, &req) {
		return
	}
	c := bot.EventCorrection{Hidden: req.Hidden, Reason: req.Reason}
	if req.OccurredAt != nil {
		if c.OccurredAt, err = apiTime("occurred_at", *req.OccurredAt); err != nil {
			a.fail(w, err)
			return
		}
	}
	ev, err := a.Service.CorrectEvent(r.Context(), actorOf(r), inc.ID, eventID, c)
	if err != nil {
		a.fail(w, err)
		return
	}
	WriteJSON(w, http.StatusOK, eventJSON(ev))
}

func (a *API) setImpact(w http.ResponseWriter, r *http.Request, inc bot.Incident) {
	if a.Postmortems == nil {
		WriteJSON(w, http.StatusServiceUnavailable, ErrorBody{Error: "postmortems are not enabled on this server"})
		return
	}
	var req struct {
		Start *string `json:"start"`
		End   *string `json:"end"`
	}
	if !decodeAPIBody(w, r, &req) {
		return
	}
	if req.Start == nil && req.End == nil {
		a.fail(w, bot.FieldErrorf("start", "give start, end or both, in RFC 3339"))
		return
	}
	// Both times are checked before either is set.
	set := map[string]time.Time{}
	for which, v := range map[string]*string{"start": req.Start, "end": req.End} {
		if v == nil {
			continue
		}
		at, err := apiTime(which, *v)
		if err == nil && at.After(a.Service.Now().Add(time.Minute)) {
			err = bot.FieldErrorf(which, "%s is in the future", *v)
		}
		if err != nil {
			a.fail(w, err)
			return
		}
		set[which] = at
	}
	for _, which := range []string{"start", "end"} {
		if at, ok := set[which]; ok {
			if err := a.Postmortems.SetImpact(r.Context(), actorOf(r), inc.ID, which, at); err != nil {
				a.fail(w, err)
				return
			}
		}
	}
	anchors, err := a.Service.Store().ImpactAnchors(r.Context(), inc.ID)
	if err != nil {
		a.fail(w, err)
		return
	}
	WriteJSON(w, http.StatusOK, map[string]any{
		"incident": inc.Key(), "start": timeOrNull(anchors.StartedAt), "start_by": anchors.StartedBy,
		"end": timeOrNull(anchors.EndedAt), "end_by": anchors.EndedBy})
}

func (a *API) getPostmortem(w http.ResponseWriter, r *http.Request, inc bot.Incident) {
	if a.Drafter == nil {
		WriteJSON(w, http.StatusServiceUnavailable, ErrorBody{Error: "postmortems are not enabled on this server"})
		return
	}
	draft, err := a.Drafter.DraftPostmortem(r.Context(), inc.ID)
	if err != nil {
		a.fail(w, err)
		return
	}
	w.Header().Set("Content-Type", "text/markdown; charset=utf-8")
	w.Header().Set("Content-Disposition", fmt.Sprintf(`inline; filename=%q`, draft.File.Name))
	w.Header().Set("X-Sitrep-Draft-Status", draft.Status)
	w.Header().Set("X-Sitrep-Prompts", strconv.Itoa(draft.Prompts))
	_, _ = w.Write(draft.File.Content)
}

func (a *API) export(w http.ResponseWriter, r *http.Request, inc bot.Incident) {
	if a.Postmortems == nil {
		WriteJSON(w, http.StatusServiceUnavailable, ErrorBody{Error: "postmortems are not enabled on this server"})
		return
	}
	if err := a.Postmortems.RequestExport(r.Context(), actorOf(r), inc.ID); err != nil {
		a.fail(w, err)
		return
	}
	WriteJSON(w, http.StatusAccepted, map[string]any{"incident": inc.Key(), "export": "queued",
		"note": "the export runs in the background; its result is posted in the incident channel and on the timeline"})
}
