package web

import (
	"fmt"
	"net/http"
	"slices"
	"sort"
	"time"

	"github.com/sitrep-io/sitrep/bot"
)

// overviewWeeks is how many weeks the overview charts.
const overviewWeeks = 13 // a quarter

// weekStats is one week of the overview.
type weekStats struct {
	Start      time.Time
	Label      string
	BySeverity [4]int // SEV1..SEV4
	Total      int
	MedianTTA  time.Duration // of the incidents that started that week; 0: none
	MedianTTR  time.Duration
}

// bar is one stacked bar segment of the incidents-per-week chart.
type bar struct {
	X, Y, W, H int
	Class      string
	Title      string
}

// point is one point of a line chart.
type point struct {
	X, Y  int
	Title string
}

type slowRow struct {
	Key, Title, Severity, TTR string
}

func weekStart(t time.Time, loc *time.Location) time.Time {
	t = t.In(loc)
	day := time.Date(t.Year(), t.Month(), t.Day(), 0, 0, 0, 0, loc)
	offset := (int(day.Weekday()) + 6) % 7 // Monday
	return day.AddDate(0, 0, -offset)
}

func median(ds []time.Duration) time.Duration {
	if len(ds) == 0 {
		return 0
	}
	slices.Sort(ds)
	return ds[len(ds)/2]
}

func (s *Server) overviewPage(w http.ResponseWriter, r *http.Request) {
	all, err := s.Service.Incidents(r.Context(), bot.IncidentFilter{All: true})
	if err != nil {
		s.fail(w, r, err)
		return
	}
	loc, now, sess := s.loc(), s.now(), sessionOf(r)
	first := weekStart(now, loc).AddDate(0, 0, -7*(overviewWeeks-1))
	weeks := make([]weekStats, overviewWeeks)
	ttas := make([][]time.Duration, overviewWeeks)
	ttrs := make([][]time.Duration, overviewWeeks)
	for i := range weeks {
		weeks[i].Start = first.AddDate(0, 0, 7*i)
		weeks[i].Label = weeks[i].Start.Format("Jan 2")
	}
	var slow []bot.Incident
	for _, inc := range all {
		st := start(inc)
		if st.Before(first) || !s.canSee(r.Context(), sess, inc) {
			continue
		}
		i := int(weekStart(st, loc).Sub(first).Hours()/24) / 7
		if i < 0 || i >= overviewWeeks || !inc.Severity.Valid() {
			continue
		}
		weeks[i].BySeverity[inc.Severity-1]++
		weeks[i].Total++
		if !inc.AcknowledgedAt.IsZero() {
			ttas[i] = append(ttas[i], inc.AcknowledgedAt.Sub(st))
		}
		if !inc.ResolvedAt.IsZero() {
			ttrs[i] = append(ttrs[i], inc.ResolvedAt.Sub(st))
			slow = append(slow, inc)
		}
	}
	for i := range weeks {
		weeks[i].MedianTTA, weeks[i].MedianTTR = median(ttas[i]), median(ttrs[i])
	}
	sort.Slice(slow, func(i, j int) bool {
		return slow[i].ResolvedAt.Sub(start(slow[i])) > slow[j].ResolvedAt.Sub(start(slow[j]))
	})
	var slowest []slowRow
	for _, inc := range slow[:min(10, len(slow))] {
		slowest = append(slowest, slowRow{Key: inc.Key(), Title: inc.Title, Severity: inc.Severity.String(), TTR: duration(start(inc), inc.ResolvedAt)})
	}
	s.render(w, r, http.StatusOK, "overview", map[string]any{"Title": "Overview", "Weeks": weeks,
		"Bars": severityBars(weeks), "TTA": linePoints(weeks, func(w weekStats) time.Duration { return w.MedianTTA }),
		"TTR": linePoints(weeks, func(w weekStats) time.Duration { return w.MedianTTR }), "Slowest": slowest,
		"Since": first.Format("2006-01-02"), "Zone": loc.String(), "Ticks": weekTicks(weeks)})
}

// weekTicks labels each week's slot below the charts' axis.
func weekTicks(weeks []weekStats) []point {
	slot := (chartW - 2*chartPad) / len(weeks)
	ticks := make([]point, 0, len(weeks))
	for i, w := range weeks {
		ticks = append(ticks, point{X: chartPad + i*slot + slot/2, Y: chartH - chartPad + 16, Title: w.Label})
	}
	return ticks
}

// Chart geometry, in SVG user units.
const (
	chartW, chartH = 650, 160
	chartPad       = 20
)

func severityBars(weeks []weekStats) []bar {
	peak := 1
	for _, w := range weeks {
		peak = max(peak, w.Total)
	}
	slot := (chartW - 2*chartPad) / len(weeks)
	var bars []bar
	for i, w := range weeks {
		y := chartH - chartPad
		for sev := 3; sev >= 0; sev-- { // SEV4 at the bottom, SEV1 on top
			n := w.BySeverity[sev]
			if n == 0 {
				continue
			}
			h := n * (chartH - 2*chartPad) / peak
			h = max(h, 2)
			y -= h
			bars = append(bars, bar{X: chartPad + i*slot + 2, Y: y, W: slot - 4, H: h, Class: fmt.Sprintf("sev%d", sev+1),
				Title: fmt.Sprintf("week of %s: %d SEV%d", w.Label, n, sev+1)})
		}
	}
	return bars
}

func linePoints(weeks []weekStats, value func(weekStats) time.Duration) []point {
	peak := time.Minute
	for _, w := range weeks {
		peak = max(peak, value(w))
	}
	slot := (chartW - 2*chartPad) / len(weeks)
	var pts []point
	for i, w := range weeks {
		v := value(w)
		if v <= 0 {
			continue
		}
		y := chartH - chartPad - int(int64(chartH-2*chartPad)*int64(v)/int64(peak))
		pts = append(pts, point{X: chartPad + i*slot + slot/2, Y: y, Title: fmt.Sprintf("week of %s: median %s", w.Label, funcs["dur"].(func(time.Duration) string)(v))})
	}
	return pts
}
