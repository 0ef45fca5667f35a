package web

import (
	"bytes"
	"context"
	"fmt"
	"html/template"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/sitrep-io/sitrep/bot"
	"github.com/yuin/goldmark"
	"github.com/yuin/goldmark/ast"
	"github.com/yuin/goldmark/extension"
	"github.com/yuin/goldmark/renderer"
	"github.com/yuin/goldmark/util"
)

// incidentsPageSize is how many incidents one page of the list shows.
const incidentsPageSize = 100

// listFilter is what the incident list's form selects.
type listFilter struct {
	Status   string // "", "open", "resolved"
	Severity string // "", "SEV1".."SEV4"
	Service  string // the service label's value
	From, To string // YYYY-MM-DD, on the incident's start
	Query    string // in the title, any case
	Page     int
}

func readListFilter(q url.Values) (listFilter, error) {
	f := listFilter{Status: q.Get("status"), Severity: strings.ToUpper(q.Get("severity")), Service: strings.TrimSpace(q.Get("service")),
		From: q.Get("from"), To: q.Get("to"), Query: strings.TrimSpace(q.Get("q")), Page: 1}
	if !slices.Contains([]string{"", "open", "resolved"}, f.Status) {
		return f, bot.FieldErrorf("status", "%q: choose open, resolved or any", f.Status)
	}
	if f.Severity != "" {
		if _, err := bot.ParseSeverity(f.Severity); err != nil {
			return f, bot.FieldErrorf("severity", "%q: choose SEV1 to SEV4", f.Severity)
		}
	}
	for field, v := range map[string]string{"from": f.From, "to": f.To} {
		if v != "" {
			if _, err := time.Parse(time.DateOnly, v); err != nil {
				return f, bot.FieldErrorf(field, "%q: give a date as YYYY-MM-DD", v)
			}
		}
	}
	if p := q.Get("page"); p != "" {
		n, err := strconv.Atoi(p)
		if err != nil || n < 1 {
			return f, bot.FieldErrorf("page", "%q is not a page number", p)
		}
		f.Page = n
	}
	return f, nil
}

// start is when an incident began, for ages and date filters.
func start(inc bot.Incident) time.Time {
	if !inc.DetectedAt.IsZero() {
		return inc.DetectedAt
	}
	return inc.DeclaredAt
}

func (f listFilter) match(inc bot.Incident, loc *time.Location) bool {
	switch {
	case f.Status == "open" && !inc.Open(), f.Status == "resolved" && inc.Open():
		return false
	case f.Severity != "" && inc.Severity.String() != f.Severity:
		return false
	case f.Service != "" && inc.Labels["service"] != f.Service:
		return false
	case f.Query != "" && !strings.Contains(strings.ToLower(inc.Title), strings.ToLower(f.Query)):
		return false
	}
	day := start(inc).In(loc).Format(time.DateOnly)
	return (f.From == "" || day >= f.From) && (f.To == "" || day <= f.To)
}

// query is the filter as URL parameters, for the pager's links.
func (f listFilter) query(page int) string {
	v := url.Values{}
	for k, s := range map[string]string{"status": f.Status, "severity": f.Severity, "service": f.Service, "from": f.From, "to": f.To, "q": f.Query} {
		if s != "" {
			v.Set(k, s)
		}
	}
	if page > 1 {
		v.Set("page", strconv.Itoa(page))
	}
	return v.Encode()
}

// incidentRow is one line of the incident list.
type incidentRow struct {
	Key, Title, Severity, Status, Commander string
	Private                                 bool
	Age, TTA, TTR                           string
	Open                                    bool
}

func (s *Server) incidentsPage(w http.ResponseWriter, r *http.Request) {
	f, err := readListFilter(r.URL.Query())
	if err != nil {
		s.fail(w, r, err)
		return
	}
	sess, now := sessionOf(r), s.now()
	skip := (f.Page - 1) * incidentsPageSize
	found, complete, err := s.listIncidents(r.Context(), f, sess, skip+incidentsPageSize)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	var rows []incidentRow
	for _, inc := range found[min(skip, len(found)):min(skip+incidentsPageSize, len(found))] {
		end := now
		if !inc.Open() {
			end = inc.ResolvedAt
		}
		rows = append(rows, incidentRow{Key: inc.Key(), Title: inc.Title, Severity: inc.Severity.String(), Status: string(inc.Status),
			Commander: inc.Commander, Private: inc.Private, Open: inc.Open(),
			Age: duration(start(inc), end), TTA: duration(start(inc), inc.AcknowledgedAt), TTR: duration(start(inc), inc.ResolvedAt)})
	}
	matched := len(found)
	if !complete { // more match than this page needs: the total is not counted
		matched = skip + incidentsPageSize
	}
	pages := (matched + incidentsPageSize - 1) / incidentsPageSize
	if !complete {
		pages = f.Page + 1
	}
	data := map[string]any{"Title": "Incidents", "Rows": rows, "Filter": f, "Matched": matched, "More": !complete, "Page": f.Page, "Pages": pages}
	if f.Page > 1 {
		data["Prev"] = "/incidents?" + f.query(f.Page-1)
	}
	if f.Page < pages {
		data["Next"] = "/incidents?" + f.query(f.Page+1)
	}
	s.render(w, r, http.StatusOK, "incidents", data)
}

// listIncidents returns the incidents the filter matches and the session
// may see, in the list's order (open first, then resolved, most recent
// first): at least want of them when that many match, all of them when
// complete. Reading every incident costs ~10 µs each, so the list first
// reads only as many as the page needs and reads everything only when a
// filter leaves too few of those.
func (s *Server) listIncidents(ctx context.Context, f listFilter, sess bot.WebSession, want int) ([]bot.Incident, bool, error) {
	loc := s.loc()
	keep := func(all []bot.Incident) []bot.Incident {
		var out []bot.Incident
		for _, inc := range all {
			if f.match(inc, loc) && s.canSee(ctx, sess, inc) {
				out = append(out, inc)
			}
		}
		return out
	}
	if f.Status == "open" { // the open incidents alone are few and come first
		open, err := s.Service.Incidents(ctx, bot.IncidentFilter{})
		return keep(open), true, err
	}
	limit := want + 1 // one more tells whether the list goes on
	first, err := s.Service.Incidents(ctx, bot.IncidentFilter{All: true, Limit: limit})
	if err != nil {
		return nil, false, err
	}
	if found := keep(first); len(found) > want || len(first) < limit {
		return found, len(found) <= want, nil
	}
	all, err := s.Service.Incidents(ctx, bot.IncidentFilter{All: true})
	if err != nil {
		return nil, false, err
	}
	found := keep(all)
	if len(found) > want {
		return found[:want+1], false, nil
	}
	return found, true, nil
}

// duration is "1h 05m" from a to b, or "" while either is unknown. Whole
// minutes are counted, cut not rounded, as the postmortem's metrics are
// (postmortem.FormatDuration): the page and the draft agree on 4h 31m.
func duration(a, b time.Time) string {
	if a.IsZero() || b.IsZero() {
		return ""
	}
	d := b.Sub(a).Truncate(time.Minute)
	sign := ""
	if d < 0 {
		sign, d = "−", -d
	}
	if d >= 48*time.Hour {
		return fmt.Sprintf("%s%dd %02dh", sign, int(d.Hours())/24, int(d.Hours())%24)
	}
	return fmt.Sprintf("%s%dh %02dm", sign, int(d.Hours()), int(d.Minutes())%60)
}

// timelineRow is one line of an incident's timeline: an event, or a run of
// repeated alerts collapsed as in the postmortem.
type timelineRow struct {
	ID          int64
	UTC, Local  string
	Actor, Kind string
	Text        string
	SourceURL   string
	Hidden      bool
	Count       int
	LastUTC     string
	Changes     string
	Correctable bool
	// Correcting shows the correction forms in this row: the page renders
	// them for the one event chosen with ?correct=<id>, not for each of
	// thousands.
	Correcting   bool
	OccurredForm string // the time as the correction form shows it
}

func (s *Server) timelineRows(events []bot.Event, correcting int64) []timelineRow {
	loc := s.loc()
	rows := make([]timelineRow, 0, len(events))
	for _, run := range bot.CollapseTimeline(events) {
		ev := run.First
		row := timelineRow{ID: ev.ID, UTC: ev.OccurredAt.UTC().Format("2006-01-02 15:04:05"),
			Local: ev.OccurredAt.In(loc).Format("15:04:05 MST"), Actor: ev.Actor, Kind: string(ev.Kind),
			Text: bot.PlainText(ev.Text), SourceURL: safeURL(ev.SourceURL), Hidden: ev.Hidden, Count: run.Count,
			Correctable: ev.Kind != bot.KindEventCorrected && run.Count == 1}
		if row.Correctable && ev.ID == correcting {
			row.Correcting, row.OccurredForm = true, ev.OccurredAt.UTC().Format("2006-01-02 15:04:05")
		}
		if run.Count > 1 {
			row.LastUTC = run.LastAt.UTC().Format("2006-01-02 15:04:05")
			row.Changes = bot.PlainText(run.ChangesText())
		}
		rows = append(rows, row)
	}
	return rows
}

// timelineHTML splits the timeline's rows around the one being corrected
// (nil: none): the rows before and after it as HTML, and that row for the
// template to render with its forms. The page of a long incident has
// thousands of rows, and html/template's reflection costs ~10 µs a row
// (over 100 ms for 10,000 events), so the common rows are written here,
// every value escaped with html/template's own escaper.
func timelineHTML(rows []timelineRow) (before template.HTML, correcting *timelineRow, after template.HTML) {
	var b strings.Builder
	b.Grow(len(rows) * 300)
	for i := range rows {
		if rows[i].Correcting {
			before, correcting = template.HTML(b.String()), &rows[i] // #nosec: writeHTML escapes every value
			b.Reset()
			continue
		}
		rows[i].writeHTML(&b)
	}
	if correcting == nil {
		return template.HTML(b.String()), nil, "" // #nosec: writeHTML escapes every value
	}
	return before, correcting, template.HTML(b.String()) // #nosec: writeHTML escapes every value
}

// writeHTML writes the row as the timeline table shows it.
func (r timelineRow) writeHTML(b *strings.Builder) {
	esc := func(v string) { b.WriteString(template.HTMLEscapeString(v)) }
	id := strconv.FormatInt(r.ID, 10)
	b.WriteString(`<tr id="event-` + id + `" class="`)
	if r.Hidden {
		b.WriteString("hidden")
	}
	b.WriteString(" kind-")
	esc(r.Kind)
	b.WriteString(`"><td>`)
	esc(r.UTC)
	b.WriteString(`</td><td>`)
	esc(r.Local)
	b.WriteString(`</td><td>`)
	esc(r.Actor)
	b.WriteString("</td>\n<td>")
	if r.Hidden {
		b.WriteString("<del>")
		esc(r.Text)
		b.WriteString(`</del> <span class="tag">hidden</span>`)
	} else {
		esc(r.Text)
	}
	if r.Count > 1 {
		b.WriteString("\n<span class=\"run\">×" + strconv.Itoa(r.Count) + ", last ")
		esc(r.LastUTC)
		if r.Changes != "" {
			b.WriteString("; ")
			esc(r.Changes)
		}
		b.WriteString("</span>")
	}
	if r.SourceURL != "" { // safeURL: http(s) only
		b.WriteString(` <a href="`)
		esc(r.SourceURL)
		b.WriteString(`">source</a>`)
	}
	b.WriteString("</td>\n<td>")
	esc(r.Kind)
	b.WriteString("</td>\n<td>")
	if r.Correctable {
		b.WriteString(`<a class="correct" href="?correct=` + id + `#event-` + id + `">Correct</a>`)
	}
	b.WriteString("</td></tr>\n")
}

// safeURL keeps only http(s) links: a javascript: URL from a webhook must
// not become a link.
func safeURL(u string) string {
	p, err := url.Parse(u)
	if err != nil || (p.Scheme != "https" && p.Scheme != "http") {
		return ""
	}
	return u
}

func (s *Server) incidentPage(w http.ResponseWriter, r *http.Request, inc bot.Incident) {
	ctx := r.Context()
	var correcting int64
	if c := r.URL.Query().Get("correct"); c != "" {
		id, err := strconv.ParseInt(c, 10, 64)
		if err != nil {
			s.fail(w, r, bot.FieldErrorf("correct", "%q is not an event id", c))
			return
		}
		correcting = id
	}
	events, err := s.Service.Timeline(ctx, inc.ID)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	st := s.Service.Store()
	runs, err := st.RunbookRuns(ctx, bot.RunbookRunFilter{IncidentID: inc.ID})
	if err != nil {
		s.fail(w, r, err)
		return
	}
	followUps, err := st.FollowUps(ctx, inc.ID)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	exp, err := st.PostmortemExport(ctx, inc.ID)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	impact, err := st.ImpactAnchors(ctx, inc.ID)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	var updates []timelineRow
	for _, ev := range events {
		if ev.Kind == bot.KindStatusUpdate && !ev.Hidden {
			updates = append(updates, timelineRow{UTC: ev.OccurredAt.UTC().Format("2006-01-02 15:04"), Actor: ev.Actor, Text: bot.PlainText(ev.Text)})
		}
	}
	loc := s.loc()
	keyTimes := []struct{ Name, UTC, Local string }{}
	for _, kt := range []struct {
		name string
		at   time.Time
	}{{"detected", inc.DetectedAt}, {"declared", inc.DeclaredAt}, {"acknowledged", inc.AcknowledgedAt},
		{"mitigated", inc.MitigatedAt}, {"resolved", inc.ResolvedAt}, {"impact started", impact.StartedAt}, {"impact ended", impact.EndedAt}} {
		if !kt.at.IsZero() {
			keyTimes = append(keyTimes, struct{ Name, UTC, Local string }{kt.name, kt.at.UTC().Format("2006-01-02 15:04:05"), kt.at.In(loc).Format("15:04 MST")})
		}
	}
	before, correctingRow, after := timelineHTML(s.timelineRows(events, correcting))
	data := map[string]any{"Title": inc.Key() + " " + inc.Title, "Incident": inc, "RowsBefore": before, "Correcting": correctingRow, "RowsAfter": after,
		"Events": len(events), "Runs": runs, "FollowUps": followUps, "Updates": updates, "KeyTimes": keyTimes,
		"Version": version(inc, events), "PollMS": s.livePoll().Milliseconds(), "Zone": loc.String(), "Postmortems": s.Drafter != nil,
		"CanExport": s.Postmortems != nil, "SourceURL": safeURL(inc.SourceURL), "ExportURL": safeURL(exp.URL())}
	if inc.ChannelID != "" {
		data["ChannelURL"] = "https://slack.com/app_redirect?channel=" + url.QueryEscape(inc.ChannelID)
	}
	s.render(w, r, http.StatusOK, "incident", data)
}

// version changes whenever the incident or its timeline does: the page's
// script polls it and reloads on a change.
func version(inc bot.Incident, events []bot.Event) string {
	last := int64(0)
	for _, ev := range events {
		last = max(last, ev.ID)
	}
	return fmt.Sprintf("%d-%d-%d", inc.UpdatedAt.UnixNano(), len(events), last)
}

func (s *Server) incidentVersion(w http.ResponseWriter, r *http.Request, inc bot.Incident) {
	events, err := s.Service.Timeline(r.Context(), inc.ID)
	if err != nil {
		http.Error(w, "unavailable", http.StatusServiceUnavailable)
		return
	}
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	_, _ = w.Write([]byte(version(inc, events)))
}

// webTime reads a time typed in a form: UTC as "2006-01-02 15:04[:05]", or
// RFC 3339 with its own offset.
func webTime(field, v string) (time.Time, error) {
	v = strings.TrimSpace(v)
	if t, err := time.Parse(time.RFC3339, v); err == nil {
		return t, nil
	}
	for _, layout := range []string{"2006-01-02 15:04:05", "2006-01-02 15:04", "2006-01-02T15:04:05", "2006-01-02T15:04"} {
		if t, err := time.ParseInLocation(layout, v, time.UTC); err == nil {
			return t, nil
		}
	}
	return time.Time{}, bot.FieldErrorf(field, "%q: give the time in UTC as YYYY-MM-DD HH:MM (or RFC 3339)", v)
}

func (s *Server) backToIncident(w http.ResponseWriter, r *http.Request, inc bot.Incident, anchor string) {
	http.Redirect(w, r, "/incidents/"+inc.Key()+anchor, http.StatusSeeOther)
}

func (s *Server) addEvent(w http.ResponseWriter, r *http.Request, inc bot.Incident) {
	at, err := webTime("occurred_at", r.PostFormValue("occurred_at"))
	if err == nil {
		var ev bot.Event
		ev, err = s.Service.AddOffChatEvent(r.Context(), actor(r), inc.ID, at, r.PostFormValue("text"))
		if err == nil {
			s.backToIncident(w, r, inc, fmt.Sprintf("#event-%d", ev.ID))
			return
		}
	}
	s.fail(w, r, err)
}

func (s *Server) correctEvent(w http.ResponseWriter, r *http.Request, inc bot.Incident) {
	eventID, err := strconv.ParseInt(r.PathValue("event"), 10, 64)
	if err != nil {
		s.fail(w, r, bot.FieldErrorf("event", "%q is not an event id", r.PathValue("event")))
		return
	}
	c := bot.EventCorrection{Reason: r.PostFormValue("reason")}
	switch r.PostFormValue("action") {
	case "time":
		if c.OccurredAt, err = webTime("occurred_at", r.PostFormValue("occurred_at")); err != nil {
			s.fail(w, r, err)
			return
		}
	case "hide", "unhide":
		hidden := r.PostFormValue("action") == "hide"
		c.Hidden = &hidden
	default:
		s.fail(w, r, bot.FieldErrorf("action", "say time, hide or unhide"))
		return
	}
	if _, err := s.Service.CorrectEvent(r.Context(), actor(r), inc.ID, eventID, c); err != nil {
		s.fail(w, r, err)
		return
	}
	s.backToIncident(w, r, inc, fmt.Sprintf("#event-%d", eventID))
}

func (s *Server) setImpact(w http.ResponseWriter, r *http.Request, inc bot.Incident) {
	if s.Postmortems == nil {
		s.fail(w, r, bot.Errorf(bot.EINVALID, "postmortems are not enabled on this server"))
		return
	}
	which := r.PostFormValue("which")
	if which != "start" && which != "end" {
		s.fail(w, r, bot.FieldErrorf("which", "say start or end"))
		return
	}
	at, err := webTime("at", r.PostFormValue("at"))
	if err == nil && at.After(s.now().Add(time.Minute)) {
		err = bot.FieldErrorf("at", "%s is in the future", at.Format(time.RFC3339))
	}
	if err == nil {
		err = s.Postmortems.SetImpact(r.Context(), actor(r), inc.ID, which, at)
	}
	if err != nil {
		s.fail(w, r, err)
		return
	}
	s.backToIncident(w, r, inc, "#key-times")
}

func (s *Server) export(w http.ResponseWriter, r *http.Request, inc bot.Incident) {
	if s.Postmortems == nil {
		s.fail(w, r, bot.Errorf(bot.EINVALID, "postmortems are not enabled on this server"))
		return
	}
	if err := s.Postmortems.RequestExport(r.Context(), actor(r), inc.ID); err != nil {
		s.fail(w, r, err)
		return
	}
	http.Redirect(w, r, "/incidents/"+inc.Key()+"/postmortem?exported=1", http.StatusSeeOther)
}

// markdown renders the postmortem: GitHub's tables, and raw HTML in the
// Markdown (an incident title with a tag in it) never rendered as HTML but
// shown as the text people typed.
var markdown = goldmark.New(goldmark.WithExtensions(extension.GFM),
	goldmark.WithRendererOptions(renderer.WithNodeRenderers(util.Prioritized(rawHTMLAsText{}, 100))))

// rawHTMLAsText renders raw HTML (inline and blocks) escaped, as text:
// goldmark's safe mode drops it, which would lose words of a title such as
// "<script>…</script> checkout".
type rawHTMLAsText struct{}

func (rawHTMLAsText) RegisterFuncs(reg renderer.NodeRendererFuncRegisterer) {
	reg.Register(ast.KindRawHTML, func(w util.BufWriter, source []byte, node ast.Node, entering bool) (ast.WalkStatus, error) {
		if entering {
			segs := node.(*ast.RawHTML).Segments
			for i := range segs.Len() {
				seg := segs.At(i)
				template.HTMLEscape(w, seg.Value(source))
			}
		}
		return ast.WalkSkipChildren, nil
	})
	reg.Register(ast.KindHTMLBlock, func(w util.BufWriter, source []byte, node ast.Node, entering bool) (ast.WalkStatus, error) {
		n := node.(*ast.HTMLBlock)
		if entering {
			_, _ = w.WriteString("<pre>")
			lines := n.Lines()
			for i := range lines.Len() {
				line := lines.At(i)
				template.HTMLEscape(w, line.Value(source))
			}
		} else {
			if n.HasClosure() {
				closure := n.ClosureLine
				template.HTMLEscape(w, closure.Value(source))
			}
			_, _ = w.WriteString("</pre>\n")
		}
		return ast.WalkContinue, nil
	})
}

// highlight marks the prompts people must fill (✍) and the flags to review
// (⚠) so that the page's style can show them.
var highlight = strings.NewReplacer("✍", `<span class="prompt-mark">✍</span>`, "⚠", `<span class="flag-mark">⚠</span>`)

// RenderMarkdown renders Markdown to safe HTML with prompts and flags marked.
func RenderMarkdown(md []byte) (template.HTML, error) {
	var buf bytes.Buffer
	if err := markdown.Convert(md, &buf); err != nil {
		return "", fmt.Errorf("render markdown: %w", err)
	}
	return template.HTML(highlight.Replace(buf.String())), nil // #nosec: goldmark escapes text and omits raw HTML
}

func (s *Server) postmortemPage(w http.ResponseWriter, r *http.Request, inc bot.Incident) {
	if s.Drafter == nil {
		s.fail(w, r, bot.Errorf(bot.EINVALID, "postmortems are not enabled on this server"))
		return
	}
	draft, err := s.Drafter.DraftPostmortem(r.Context(), inc.ID)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	html, err := RenderMarkdown(draft.File.Content)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	s.render(w, r, http.StatusOK, "postmortem", map[string]any{"Title": "Postmortem of " + inc.Key(), "Incident": inc,
		"Draft": draft, "HTML": html, "CanExport": s.Postmortems != nil, "Exported": r.URL.Query().Get("exported") != ""})
}
