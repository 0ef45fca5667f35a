// Package metrics exposes sitrep's operational metrics to Prometheus
// (GET /metrics): HTTP requests, the outbox, deliveries, vendors' rate
// limits, open incidents, runbook runs and response times. It implements
// the observer hooks bot defines (bot.Observer, bot.DeliveryObserver), so
// bot itself knows no metrics library.
//
// Labels are bounded and carry nothing people typed or anything secret:
// route patterns (never raw paths), outbox ops, severities, runbook names
// from the configuration, vendor API methods with ids replaced.
package metrics

import (
	"context"
	"crypto/subtle"
	"log/slog"
	"net/http"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/sitrep-io/sitrep/bot"
)

// Metrics is sitrep's registry of metrics and the hooks that feed it. It is
// safe for concurrent use.
type Metrics struct {
	reg         *prometheus.Registry
	log         *slog.Logger
	requests    *prometheus.CounterVec
	latency     *prometheus.HistogramVec
	deliveries  *prometheus.CounterVec
	rateLimited *prometheus.CounterVec
	runs        *prometheus.CounterVec
	toAck       prometheus.Histogram
	toResolve   prometheus.Histogram
}

// responseBuckets are for incident response times: a minute to two days.
var responseBuckets = []float64{60, 300, 600, 1800, 3600, 2 * 3600, 4 * 3600, 8 * 3600, 24 * 3600, 48 * 3600}

// New registers sitrep's metrics, the Go runtime's and the process's. The
// outbox and open-incident gauges are read from db at each scrape, on the
// clock now (nil: the wall clock; it must be the clock the outbox's due
// times are written on).
func New(db bot.MetricsStore, now func() time.Time, log *slog.Logger) *Metrics {
	if now == nil {
		now = time.Now
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	m := &Metrics{reg: prometheus.NewRegistry(), log: log,
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "sitrep_http_requests_total",
			Help: "HTTP requests answered, by route pattern and status code."}, []string{"handler", "code"}),
		latency: prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "sitrep_http_request_duration_seconds",
			Help: "Time to answer an HTTP request, by route pattern.", Buckets: prometheus.DefBuckets}, []string{"handler"}),
		deliveries: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "sitrep_deliveries_total",
			Help: "Attempts at outbox entries, by op and result (delivered, retry, rate_limited, failed)."}, []string{"op", "result"}),
		rateLimited: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "sitrep_vendor_rate_limited_total",
			Help: "Calls a vendor refused for its rate limit (429, Statuspage's 420) or sitrep's own pacing held back."}, []string{"vendor", "method"}),
		runs: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "sitrep_runbook_runs_total",
			Help: "Runbook runs that reached a final state, by runbook and result."}, []string{"runbook", "result"}),
		toAck: prometheus.NewHistogram(prometheus.HistogramOpts{Name: "sitrep_incident_time_to_acknowledge_seconds",
			Help: "Time from an incident's detection (or declaration) to its first acknowledgement.", Buckets: responseBuckets}),
		toResolve: prometheus.NewHistogram(prometheus.HistogramOpts{Name: "sitrep_incident_time_to_resolve_seconds",
			Help: "Time from an incident's detection (or declaration) to its resolution.", Buckets: responseBuckets}),
	}
	m.reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
		m.requests, m.latency, m.deliveries, m.rateLimited, m.runs, m.toAck, m.toResolve, &storeCollector{db: db, now: now})
	return m
}

// Registry is where the metrics are registered (for tests and for adding
// more).
func (m *Metrics) Registry() *prometheus.Registry { return m.reg }

// Handler serves the metrics in Prometheus's text format. With a token set,
// a scrape must present it as "Authorization: Bearer <token>" (401
// otherwise); without one the endpoint is open, like /healthz. A gauge the
// store cannot answer is left out of the scrape and logged; the rest is
// served.
func (m *Metrics) Handler(token string) http.Handler {
	h := promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{ErrorHandling: promhttp.ContinueOnError,
		ErrorLog: slog.NewLogLogger(m.log.Handler(), slog.LevelWarn)})
	if token == "" {
		return h
	}
	want := []byte("Bearer " + token)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if subtle.ConstantTimeCompare([]byte(r.Header.Get("Authorization")), want) != 1 {
			w.Header().Set("WWW-Authenticate", `Bearer realm="sitrep metrics"`)
			http.Error(w, "metrics need Authorization: Bearer <SITREP_METRICS_TOKEN>", http.StatusUnauthorized)
			return
		}
		h.ServeHTTP(w, r)
	})
}

// Delivered counts one attempt at an outbox entry (a bot.DeliveryObserver).
func (m *Metrics) Delivered(op string, outcome bot.DeliveryOutcome) {
	m.deliveries.WithLabelValues(op, string(outcome)).Inc()
}

// RateLimited counts one call of vendor's method held back by a rate limit;
// on a nil *Metrics it does nothing.
func (m *Metrics) RateLimited(vendor, method string) {
	if m == nil {
		return
	}
	m.rateLimited.WithLabelValues(vendor, method).Inc()
}

// IncidentAcknowledged observes a time to acknowledge (bot.Observer).
func (m *Metrics) IncidentAcknowledged(_ bot.Incident, after time.Duration) {
	m.toAck.Observe(max(after, 0).Seconds())
}

// IncidentResolved observes a time to resolve (bot.Observer).
func (m *Metrics) IncidentResolved(_ bot.Incident, after time.Duration) {
	m.toResolve.Observe(max(after, 0).Seconds())
}

// RunbookRunFinished counts a finished run (bot.Observer).
func (m *Metrics) RunbookRunFinished(run bot.RunbookRun) {
	m.runs.WithLabelValues(run.Runbook, string(run.State)).Inc()
}

// storeCollector reads the gauges that describe stored state at scrape
// time, in two grouped queries (bot.MetricsStore), so every replica on one
// database reports the same backlog.
type storeCollector struct {
	db  bot.MetricsStore
	now func() time.Time
}

var (
	outboxPendingDesc = prometheus.NewDesc("sitrep_outbox_pending",
		"Unfinished outbox entries (pending or sending, scheduled ones included), by op.", []string{"op"}, nil)
	outboxOldestDesc = prometheus.NewDesc("sitrep_outbox_oldest_pending_seconds",
		"How long the most overdue unfinished outbox entry has been due (0: none is due).", nil, nil)
	incidentsOpenDesc = prometheus.NewDesc("sitrep_incidents_open",
		"Incidents not resolved, by severity.", []string{"severity"}, nil)
)

// scrapeTimeout bounds the store's answer to a scrape.
const scrapeTimeout = 5 * time.Second

func (c *storeCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- outboxPendingDesc
	ch <- outboxOldestDesc
	ch <- incidentsOpenDesc
}

func (c *storeCollector) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), scrapeTimeout)
	defer cancel()
	now := c.now()
	if backlog, err := c.db.OutboxBacklog(ctx, now); err != nil {
		ch <- prometheus.NewInvalidMetric(outboxPendingDesc, err)
	} else {
		var oldest time.Time
		for _, b := range backlog {
			ch <- prometheus.MustNewConstMetric(outboxPendingDesc, prometheus.GaugeValue, float64(b.Unfinished), b.Op)
			if !b.OldestDue.IsZero() && (oldest.IsZero() || b.OldestDue.Before(oldest)) {
				oldest = b.OldestDue
			}
		}
		overdue := 0.0
		if !oldest.IsZero() {
			overdue = max(now.Sub(oldest), 0).Seconds()
		}
		ch <- prometheus.MustNewConstMetric(outboxOldestDesc, prometheus.GaugeValue, overdue)
	}
	counts, err := c.db.OpenIncidentCounts(ctx)
	if err != nil {
		ch <- prometheus.NewInvalidMetric(incidentsOpenDesc, err)
		return
	}
	for _, sev := range []bot.Severity{bot.SEV1, bot.SEV2, bot.SEV3, bot.SEV4} { // every severity, 0 included: alerts need the series
		ch <- prometheus.MustNewConstMetric(incidentsOpenDesc, prometheus.GaugeValue, float64(counts[sev]), sev.String())
	}
}

// statusLabel is a status code as a label value.
func statusLabel(code int) string { return strconv.Itoa(code) }
