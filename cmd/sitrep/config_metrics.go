package main

// MetricsConfig is the Prometheus endpoint's configuration.
type MetricsConfig struct {
	// Token, when set, is the bearer token a scrape of /metrics must
	// present; unset, /metrics is open like /healthz.
	Token string
}

func metricsSettings() []setting {
	return []setting{
		{Key: "metrics.token", Env: "SITREP_METRICS_TOKEN", Secret: true,
			Help:  "bearer token a scrape of `GET /metrics` must present (`Authorization: Bearer …`); unset: `/metrics` is open, like `/healthz`",
			apply: func(c *Config, v string) error { c.Metrics.Token = v; return nil }},
	}
}
