// Package publicpage is sitrep's built-in status page, for teams without a
// Statuspage account. It serves, on a listener of its own, only what people
// published: the components and their status, the open public incidents
// with their updates (newest first), and those of the past 90 days, as HTML
// (/), JSON (/index.json) and an Atom feed (/feed.atom). Nothing else
// answers there.
//
// The three documents are rendered in memory, at start and after each
// publication (Rebuild), from the timeline events that record what a
// status page took; serving them reads no database. Everything is escaped
// (html/template, encoding/json, encoding/xml); the page needs no
// JavaScript and forbids it.
package publicpage

import (
	"bytes"
	"context"
	"crypto/rand"
	"embed"
	"encoding/hex"
	"encoding/json"
	"encoding/xml"
	"fmt"
	"html/template"
	"log/slog"
	"net/http"
	"slices"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/sitrep-io/sitrep/bot"
)

// History is how far back resolved public incidents are listed.
const History = 90 * 24 * time.Hour

// Source is what the page is built from (*bot.Service is one).
type Source interface {
	Incidents(ctx context.Context, f bot.IncidentFilter) ([]bot.Incident, error)
	Timeline(ctx context.Context, id int64) ([]bot.Event, error)
}

// Config configures the site.
type Config struct {
	Title string // the page's heading (default "Status")
	// Components are the page's components: name → id, as configured for
	// publishing (STATUSPAGE_COMPONENTS); shown by name.
	Components map[string]string
	Now        func() time.Time
	Log        *slog.Logger
	// URL is the page's public address, for the Atom feed's links; "" uses
	// relative links.
	URL string
}

// Site serves the built-in status page from memory.
type Site struct {
	src     Source
	cfg     Config
	mu      sync.Mutex                        // one rebuild at a time; guards history
	history map[int64][]bot.PublishedIncident // by incident: what it published
	current atomic.Pointer[rendered]
}

type rendered struct {
	html, json, atom []byte
	etag             string
}

// New returns a site over src; call Rebuild before serving (an unbuilt site
// serves an empty page).
func New(src Source, cfg Config) *Site {
	if cfg.Title == "" {
		cfg.Title = "Status"
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Log == nil {
		cfg.Log = slog.New(slog.DiscardHandler)
	}
	s := &Site{src: src, cfg: cfg}
	if r, err := s.render(Snapshot{Title: cfg.Title, Components: s.components(nil)}); err == nil {
		s.current.Store(r)
	}
	return s
}

// Snapshot is what the page shows.
type Snapshot struct {
	Title      string          `json:"title"`
	UpdatedAt  time.Time       `json:"updated_at"`
	Status     string          `json:"status"` // "All systems operational" or the worst component status
	Level      string          `json:"-"`      // the banner's colour: ok, minor or major
	Components []ComponentView `json:"components"`
	Open       []IncidentView  `json:"incidents"`
	Past       []IncidentView  `json:"past_incidents"`
}

// ComponentView is one component on the page.
type ComponentView struct {
	Name   string `json:"name"`
	Status string `json:"status"`
	Words  string `json:"status_text"`
}

// IncidentView is one public incident on the page.
type IncidentView struct {
	ID         string       `json:"id"`
	Title      string       `json:"title"`
	Status     string       `json:"status"`
	Words      string       `json:"status_text"`
	Components []string     `json:"components"`
	StartedAt  time.Time    `json:"started_at"`
	UpdatedAt  time.Time    `json:"updated_at"`
	ResolvedAt *time.Time   `json:"resolved_at"`
	Updates    []UpdateView `json:"updates"` // newest first
}

// UpdateView is one update of a public incident. It has no author: people's
// names are not public.
type UpdateView struct {
	At     time.Time `json:"at"`
	Status string    `json:"status"`
	Words  string    `json:"status_text"`
	Body   string    `json:"body"`
}

// Rebuild reads everything published in the past 90 days and every public
// incident still open, and renders the page again. The page served until
// then stays up when it fails.
//
// A public incident stays open until someone resolves it publicly, however
// long ago the incident was resolved in sitrep: so every incident's
// timeline is read (once, at start-up), not only those of the last 90
// days; a restart must not change what customers read.
func (s *Site) Rebuild(ctx context.Context) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	incs, err := s.src.Incidents(ctx, bot.IncidentFilter{All: true})
	if err != nil {
		return fmt.Errorf("status page: list incidents: %w", err)
	}
	now := s.cfg.Now().UTC()
	history := map[int64][]bot.PublishedIncident{}
	for _, inc := range incs {
		events, err := s.src.Timeline(ctx, inc.ID)
		if err != nil {
			return fmt.Errorf("status page: read the timeline of %s: %w", inc.Key(), err)
		}
		if h := bot.PublicHistory(events); slices.ContainsFunc(h, func(p bot.PublishedIncident) bool {
			return p.Open() || now.Sub(p.ResolvedAt) <= History
		}) {
			history[inc.ID] = h
		}
	}
	s.history = history
	return s.renderLocked()
}

// Refresh reads what incident id published and renders the page again: a
// publication costs one timeline read, not a rebuild.
func (s *Site) Refresh(ctx context.Context, id int64) error {
	events, err := s.src.Timeline(ctx, id)
	if err != nil {
		return fmt.Errorf("status page: read the timeline of %s: %w", bot.IncidentKey(id), err)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.history == nil {
		s.history = map[int64][]bot.PublishedIncident{}
	}
	s.history[id] = bot.PublicHistory(events)
	return s.renderLocked()
}

// Render renders the page again from what it holds, so that incidents
// resolved more than 90 days ago drop off without a publication.
func (s *Site) Render() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.renderLocked()
}

// Run renders the page every interval until ctx ends.
func (s *Site) Run(ctx context.Context, every time.Duration) {
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			if err := s.Render(); err != nil {
				s.cfg.Log.Error("render the status page", "err", err)
			}
		}
	}
}

func (s *Site) renderLocked() error {
	now := s.cfg.Now().UTC()
	snap := Snapshot{Title: s.cfg.Title, UpdatedAt: now}
	var open []bot.PublishedIncident
	for _, h := range s.history {
		for _, p := range h {
			switch {
			case p.Open():
				open = append(open, p)
				snap.Open = append(snap.Open, view(p))
			case now.Sub(p.ResolvedAt) <= History:
				snap.Past = append(snap.Past, view(p))
			}
		}
	}
	newest := func(a, b IncidentView) int {
		if c := b.UpdatedAt.Compare(a.UpdatedAt); c != 0 {
			return c
		}
		return strings.Compare(a.ID, b.ID)
	}
	slices.SortFunc(snap.Open, newest)
	slices.SortFunc(snap.Past, newest)
	snap.Components = s.components(open)
	r, err := s.render(snap)
	if err != nil {
		return err
	}
	s.current.Store(r)
	return nil
}

// OnPublished is a bot.StatusPageConfig OnPublished hook: it refreshes the
// page with incident id's publications, logging a failure (the
// publication itself is recorded).
func (s *Site) OnPublished(ctx context.Context, id int64) {
	if err := s.Refresh(ctx, id); err != nil {
		s.cfg.Log.Error("refresh the status page", "err", err)
	}
}

func view(p bot.PublishedIncident) IncidentView {
	v := IncidentView{ID: p.Ref, Title: p.Title, Status: string(p.Status), Words: p.Status.Words(),
		StartedAt: p.StartedAt, UpdatedAt: p.UpdatedAt, Components: []string{}, Updates: []UpdateView{}}
	if !p.ResolvedAt.IsZero() {
		t := p.ResolvedAt
		v.ResolvedAt = &t
	}
	for _, c := range p.Components {
		v.Components = append(v.Components, c.Name)
	}
	for _, u := range slices.Backward(p.Updates) {
		v.Updates = append(v.Updates, UpdateView{At: u.At, Status: string(u.Status), Words: u.Status.Words(), Body: u.Body})
	}
	return v
}

// components is each configured component with the worst status the open
// public incidents give it (operational when none does).
func (s *Site) components(open []bot.PublishedIncident) []ComponentView {
	status := map[string]bot.ComponentStatus{}
	for name := range s.cfg.Components {
		status[name] = bot.ComponentOperational
	}
	for _, p := range open {
		for _, c := range p.Components {
			if cur, ok := status[c.Name]; !ok || c.Status.Worse(cur) {
				status[c.Name] = c.Status
			}
		}
	}
	names := make([]string, 0, len(status))
	for n := range status {
		names = append(names, n)
	}
	sort.Strings(names)
	out := []ComponentView{}
	for _, n := range names {
		out = append(out, ComponentView{Name: n, Status: string(status[n]), Words: status[n].Words()})
	}
	return out
}

func overall(comps []ComponentView, open int) (string, string) {
	worst := bot.ComponentOperational
	for _, c := range comps {
		if cs := bot.ComponentStatus(c.Status); cs.Worse(worst) {
			worst = cs
		}
	}
	switch {
	case worst == bot.ComponentPartialOutage || worst == bot.ComponentMajorOutage:
		return worst.Words(), "major"
	case worst != bot.ComponentOperational:
		return worst.Words(), "minor"
	case open > 0:
		return "Incident in progress", "minor"
	}
	return "All systems operational", "ok"
}

//go:embed page.html.tmpl
var templates embed.FS

var page = template.Must(template.New("page.html.tmpl").Funcs(template.FuncMap{
	"when": func(t time.Time) string { return t.UTC().Format("Jan 2, 15:04 UTC") },
	"iso":  func(t time.Time) string { return t.UTC().Format(time.RFC3339) },
	"join": strings.Join,
}).ParseFS(templates, "page.html.tmpl"))

func (s *Site) render(snap Snapshot) (*rendered, error) {
	snap.Status, snap.Level = overall(snap.Components, len(snap.Open))
	if snap.Open == nil {
		snap.Open = []IncidentView{}
	}
	if snap.Past == nil {
		snap.Past = []IncidentView{}
	}
	var h bytes.Buffer
	if err := page.Execute(&h, snap); err != nil {
		return nil, fmt.Errorf("status page: render HTML: %w", err)
	}
	j, err := json.MarshalIndent(snap, "", "  ")
	if err != nil {
		return nil, fmt.Errorf("status page: render JSON: %w", err)
	}
	a, err := s.atom(snap)
	if err != nil {
		return nil, err
	}
	return &rendered{html: h.Bytes(), json: j, atom: a, etag: etag()}, nil
}

func etag() string {
	var b [8]byte
	_, _ = rand.Read(b[:])
	return `"` + hex.EncodeToString(b[:]) + `"`
}

// Atom (RFC 4287): one entry per update, newest first.
type atomFeed struct {
	XMLName xml.Name    `xml:"http://www.w3.org/2005/Atom feed"`
	Title   string      `xml:"title"`
	ID      string      `xml:"id"`
	Updated string      `xml:"updated"`
	Links   []atomLink  `xml:"link"`
	Author  atomAuthor  `xml:"author"`
	Entries []atomEntry `xml:"entry"`
}

type atomLink struct {
	Href string `xml:"href,attr"`
	Rel  string `xml:"rel,attr,omitempty"`
	Type string `xml:"type,attr,omitempty"`
}

type atomAuthor struct {
	Name string `xml:"name"`
}

type atomEntry struct {
	Title   string   `xml:"title"`
	ID      string   `xml:"id"`
	Updated string   `xml:"updated"`
	Link    atomLink `xml:"link"`
	Content atomText `xml:"content"`
}

type atomText struct {
	Type string `xml:"type,attr"`
	Body string `xml:",chardata"`
}

func (s *Site) atom(snap Snapshot) ([]byte, error) {
	base := strings.TrimRight(s.cfg.URL, "/")
	f := atomFeed{Title: snap.Title, ID: "urn:sitrep:status:" + strings.ToLower(strings.ReplaceAll(snap.Title, " ", "-")),
		Updated: snap.UpdatedAt.UTC().Format(time.RFC3339), Author: atomAuthor{Name: snap.Title},
		Links: []atomLink{{Href: base + "/", Rel: "alternate", Type: "text/html"}, {Href: base + "/feed.atom", Rel: "self", Type: "application/atom+xml"}}}
	var entries []atomEntry
	for _, inc := range append(slices.Clone(snap.Open), snap.Past...) {
		for i, u := range inc.Updates {
			entries = append(entries, atomEntry{
				Title:   fmt.Sprintf("%s: %s", inc.Title, u.Words),
				ID:      fmt.Sprintf("urn:sitrep:status:%s:%d", inc.ID, len(inc.Updates)-i),
				Updated: u.At.UTC().Format(time.RFC3339),
				Link:    atomLink{Href: base + "/#incident-" + inc.ID, Rel: "alternate", Type: "text/html"},
				Content: atomText{Type: "text", Body: u.Body},
			})
		}
	}
	slices.SortStableFunc(entries, func(a, b atomEntry) int { return strings.Compare(b.Updated, a.Updated) })
	f.Entries = entries
	out, err := xml.MarshalIndent(f, "", "  ")
	if err != nil {
		return nil, fmt.Errorf("status page: render Atom: %w", err)
	}
	return append([]byte(xml.Header), out...), nil
}

// Handler serves the page, its JSON and its feed, and answers 404 to
// everything else.
func (s *Site) Handler() http.Handler {
	mux := http.NewServeMux()
	serve := func(contentType string, body func(*rendered) []byte) http.HandlerFunc {
		return func(w http.ResponseWriter, r *http.Request) {
			cur := s.current.Load()
			h := w.Header()
			h.Set("Content-Type", contentType)
			h.Set("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'; img-src 'self' data:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'")
			h.Set("X-Content-Type-Options", "nosniff")
			h.Set("Referrer-Policy", "no-referrer")
			h.Set("Cache-Control", "public, max-age=15")
			h.Set("ETag", cur.etag)
			if r.Header.Get("If-None-Match") == cur.etag {
				w.WriteHeader(http.StatusNotModified)
				return
			}
			if r.Method == http.MethodHead {
				return
			}
			_, _ = w.Write(body(cur))
		}
	}
	mux.HandleFunc("GET /{$}", serve("text/html; charset=utf-8", func(r *rendered) []byte { return r.html }))
	mux.HandleFunc("GET /index.json", serve("application/json", func(r *rendered) []byte { return r.json }))
	mux.HandleFunc("GET /feed.atom", serve("application/atom+xml; charset=utf-8", func(r *rendered) []byte { return r.atom }))
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) { http.NotFound(w, r) })
	return mux
}

// Local is the bot.StatusPage of the built-in page alone (no Statuspage
// account): it takes every publication (the page renders them from the
// timeline) and names each public incident.
type Local struct{}

var _ bot.StatusPage = Local{}

// Name names the page in messages.
func (Local) Name() string { return "the status page" }

// CreateIncident names a new public incident.
func (Local) CreateIncident(context.Context, bot.PublicUpdate) (string, error) {
	var b [6]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", fmt.Errorf("status page: name the incident: %w", err)
	}
	return hex.EncodeToString(b[:]), nil
}

// UpdateIncident takes an update.
func (Local) UpdateIncident(context.Context, string, bot.PublicUpdate) error { return nil }
