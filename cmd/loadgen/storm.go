package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/sitrep-io/sitrep/internal/pdfake"
)

// request is one prepared webhook.
type request struct {
	path   string
	body   []byte
	header http.Header
	pd     bool
}

var stormStart = time.Date(2020, 10, 8, 0, 6, 0, 0, time.UTC)

// buildRequests prepares n webhooks: even groups are PagerDuty incidents,
// odd ones Alertmanager groups. Each webhook carries one alert not sent
// before (a new PagerDuty event id; a new Alertmanager fingerprint), so
// exactly n alert events must be recorded.
func buildRequests(o options) []request {
	reqs := make([]request, 0, o.n)
	for i := range o.n {
		g := i % o.groups
		at := stormStart.Add(time.Duration(i) * time.Millisecond)
		if g%2 == 0 {
			reqs = append(reqs, pdRequest(o, g, i, at))
		} else {
			reqs = append(reqs, amRequest(o, g, i, at))
		}
	}
	return reqs
}

func pdRequest(o options, g, i int, at time.Time) request {
	inc := pdfake.IncidentData{ID: fmt.Sprintf("PLOAD%03d", g), Number: g, Title: fmt.Sprintf("Storm group %d", g),
		Service: pdfake.Ref{ID: "PSVC", Summary: "api-gateway"}, EscalationPolicy: pdfake.Ref{ID: "PEP1", Summary: "Platform"}}
	body := pdfake.Event(pdfake.EventTriggered, inc, at, pdfake.EventID(fmt.Sprintf("EV%08d", i)))
	h := http.Header{}
	h.Set("Content-Type", "application/json")
	h.Set("X-Webhook-Id", pdfake.WebhookID(body))
	h.Set("X-PagerDuty-Signature", pdfake.SignV3(body, o.secret))
	return request{path: "/webhooks/pagerduty", body: body, header: h, pd: true}
}

func amRequest(o options, g, i int, at time.Time) request {
	body := fmt.Appendf(nil, `{"receiver":"sitrep","status":"firing","alerts":[{"status":"firing","labels":{"alertname":"StormGroup%d","severity":"critical","instance":"i-%d"},"annotations":{"summary":"5xx on group %d"},"startsAt":%q,"endsAt":"0001-01-01T00:00:00Z","generatorURL":"http://prometheus:9090/graph","fingerprint":"%016x"}],"groupLabels":{"alertname":"StormGroup%d"},"commonLabels":{"alertname":"StormGroup%d","severity":"critical"},"commonAnnotations":{},"externalURL":"http://alertmanager:9093","version":"4","groupKey":"{}:{alertname=\"StormGroup%d\"}","truncatedAlerts":0}`,
		g, i, g, at.Format(time.RFC3339Nano), i, g, g, g)
	h := http.Header{}
	h.Set("Content-Type", "application/json")
	h.Set("Authorization", "Bearer "+o.token)
	return request{path: "/webhooks/alertmanager", body: body, header: h}
}

func countPD(reqs []request) int {
	n := 0
	for _, r := range reqs {
		if r.pd {
			n++
		}
	}
	return n
}

// result is one run's measurements.
type result struct {
	sent, accepted int
	failures       map[int]int // status (0: transport error) → count
	elapsed        time.Duration
	latencies      []time.Duration // sorted
	cpu            time.Duration   // CPU time of this process meanwhile (measure)
}

func (r result) rate() float64 { return float64(r.accepted) / r.elapsed.Seconds() }

func (r result) p(q float64) time.Duration {
	if len(r.latencies) == 0 {
		return 0
	}
	return r.latencies[min(len(r.latencies)-1, int(q*float64(len(r.latencies))))]
}

func (r result) line(name string) string {
	s := fmt.Sprintf("%-12s sent %6d  accepted %6d  %8.0f accepted/s  p50 %7s  p99 %7s  max %7s  wall %s",
		name, r.sent, r.accepted, r.rate(), r.p(0.50).Round(10*time.Microsecond), r.p(0.99).Round(10*time.Microsecond),
		r.latencies[len(r.latencies)-1].Round(10*time.Microsecond), r.elapsed.Round(time.Millisecond))
	if r.cpu > 0 && r.sent > 0 {
		s += fmt.Sprintf("  cpu/req %s", (r.cpu / time.Duration(r.sent)).Round(time.Microsecond))
	}
	if len(r.failures) > 0 {
		s += fmt.Sprintf("  failures %v", r.failures)
	}
	return s
}

// fire sends reqs from conc senders and measures each request's latency.
// With several bases (replicas of one server) request i goes to base
// i mod len(bases): round robin, as a load balancer would spread them.
func fire(ctx context.Context, bases []string, reqs []request, conc int) (result, error) {
	if len(reqs) == 0 {
		return result{latencies: []time.Duration{0}, elapsed: time.Nanosecond}, nil
	}
	client := &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: conc, MaxConnsPerHost: conc}}
	defer client.CloseIdleConnections()
	lat := make([]time.Duration, len(reqs))
	status := make([]int, len(reqs))
	var next atomic.Int64
	var wg sync.WaitGroup
	start := time.Now()
	for range conc {
		wg.Go(func() {
			for {
				i := int(next.Add(1) - 1)
				if i >= len(reqs) || ctx.Err() != nil {
					return
				}
				lat[i], status[i] = send(ctx, client, bases[i%len(bases)], reqs[i])
			}
		})
	}
	wg.Wait()
	res := result{sent: len(reqs), elapsed: time.Since(start), failures: map[int]int{}}
	if err := ctx.Err(); err != nil {
		return res, fmt.Errorf("stopped after %s: %w", res.elapsed.Round(time.Millisecond), err)
	}
	for i, st := range status {
		if st >= 200 && st < 300 {
			res.accepted++
			res.latencies = append(res.latencies, lat[i])
		} else {
			res.failures[st]++
		}
	}
	if len(res.latencies) == 0 {
		return res, fmt.Errorf("no request was accepted: %v", res.failures)
	}
	slices.Sort(res.latencies)
	return res, nil
}

func send(ctx context.Context, client *http.Client, base string, r request) (time.Duration, int) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, base+r.path, bytes.NewReader(r.body))
	if err != nil {
		return 0, 0
	}
	req.Header = r.header.Clone()
	start := time.Now()
	resp, err := client.Do(req)
	if err != nil {
		return time.Since(start), 0
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return time.Since(start), resp.StatusCode
}

// loopbackOnly refuses any target that is not on this machine.
func loopbackOnly(target string) error {
	u, err := url.Parse(target)
	if err != nil || u.Scheme != "http" || u.Host == "" {
		return fmt.Errorf("-target %q: use http://127.0.0.1:PORT", target)
	}
	host := u.Hostname()
	if host == "localhost" {
		return nil
	}
	if ip := net.ParseIP(host); ip == nil || !ip.IsLoopback() {
		return fmt.Errorf("-target %q: only loopback addresses (127.0.0.0/8, ::1, localhost) may be loaded", target)
	}
	return nil
}
