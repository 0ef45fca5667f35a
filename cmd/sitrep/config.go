package main

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/sitrep-io/sitrep/bot"
	"github.com/sitrep-io/sitrep/store/postgres"
	"gopkg.in/yaml.v3"
)

// Config is sitrep's whole configuration, read once at start from an
// optional YAML file and the environment (the environment wins), validated,
// and handed to constructors as plain values.
type Config struct {
	Addr             string
	DB               string
	WebhookToken     string
	DefaultSeverity  bot.Severity
	BroadcastChannel string
	Console          string // auto, on or off
	ConsoleUser      string
	LogLevel         string
	LogFormat        string
	ShutdownTimeout  time.Duration
	Slack            SlackConfig
	Alerts           AlertsConfig      // config_alerts.go
	Runbooks         RunbooksConfig    // config_runbooks.go
	SlackEvents      SlackEventsConfig // config_slack_events.go
	Reminders        RemindersConfig   // config_reminders.go
	Postmortem       PostmortemConfig  // config_postmortem.go
	API              APIConfig         // config_api.go
	Web              WebConfig         // config_web.go
	StatusPage       StatusPageConfig  // config_statuspage.go
	Permissions      bot.Permissions   // config_permissions.go
	Metrics          MetricsConfig     // config_metrics.go
}

// setting is one configuration key: its YAML path, its environment name,
// its default and how to apply a value. The README table is checked
// against this list.
type setting struct {
	Key     string // dotted YAML path
	Env     string
	Default string
	Help    string
	Secret  bool // never printed or logged
	apply   func(c *Config, v string) error
	// MapEntries: in YAML the key is a map, each entry applied with
	// applyEntry (the environment gives the whole map to apply).
	MapEntries bool
	applyEntry func(c *Config, name, v string) error
}

// settings lists every configuration key. Each feature keeps its keys in a
// function of its own file.
func settings() []setting {
	return slices.Concat(coreSettings(), slackSettings(), alertsSettings(), runbooksSettings(), slackEventsSettings(), remindersSettings(), postmortemSettings(), statusPageSettings(), apiSettings(), webSettings(), permissionsSettings(), metricsSettings())
}

func coreSettings() []setting {
	return []setting{
		{Key: "addr", Env: "SITREP_ADDR", Default: ":8080", Help: "HTTP listen address (host:port)",
			apply: func(c *Config, v string) error {
				if _, _, err := net.SplitHostPort(v); err != nil {
					return fmt.Errorf("%q is not host:port (e.g. :8080 or 127.0.0.1:8080)", v)
				}
				c.Addr = v
				return nil
			}},
		{Key: "db", Env: "SITREP_DB", Default: "sitrep.db", Help: "SQLite database file (created if missing), or a `postgres://` URL (several replicas)",
			apply: func(c *Config, v string) error {
				if postgres.IsURL(v) { // not a file name: never create a SQLite file called postgres:…
					if err := postgres.CheckURL(v); err != nil {
						return err
					}
					c.DB = v
					return nil
				}
				return nonEmpty(&c.DB, v, "a SQLite file path or a postgres:// URL")
			}},
		{Key: "webhook_token", Env: "SITREP_WEBHOOK_TOKEN", Secret: true,
			Help:  "bearer token for POST /webhooks/alert; the endpoint answers 503 while unset",
			apply: func(c *Config, v string) error { c.WebhookToken = v; return nil }},
		{Key: "default_severity", Env: "SITREP_DEFAULT_SEVERITY", Default: "SEV3", Help: "severity of alerts and declarations that name none",
			apply: func(c *Config, v string) error {
				sev, err := bot.ParseSeverity(v)
				if err != nil {
					return fmt.Errorf("%q: use SEV1 to SEV4", v)
				}
				c.DefaultSeverity = sev
				return nil
			}},
		{Key: "broadcast_channel", Env: "SITREP_BROADCAST_CHANNEL",
			Help:  "channel where incidents are announced and status updates mirrored (console: `incidents` when unset)",
			apply: func(c *Config, v string) error { c.BroadcastChannel = v; return nil }},
		{Key: "console", Env: "SITREP_CONSOLE", Default: "auto",
			Help:  "read /incident commands from standard input: `auto` (when it is a terminal), `on`, `off`",
			apply: func(c *Config, v string) error { return oneOf(&c.Console, v, "auto", "on", "off") }},
		{Key: "console_user", Env: "SITREP_CONSOLE_USER", Default: "$USER",
			Help: "the console user's name on the timeline",
			apply: func(c *Config, v string) error {
				if v == "$USER" {
					v = os.Getenv("USER")
				}
				if v == "" {
					v = "operator"
				}
				c.ConsoleUser = v
				return nil
			}},
		{Key: "log.level", Env: "SITREP_LOG_LEVEL", Default: "info", Help: "`debug`, `info`, `warn` or `error`",
			apply: func(c *Config, v string) error { return oneOf(&c.LogLevel, v, "debug", "info", "warn", "error") }},
		{Key: "log.format", Env: "SITREP_LOG_FORMAT", Default: "text", Help: "`text` or `json` (logs go to standard error)",
			apply: func(c *Config, v string) error { return oneOf(&c.LogFormat, v, "text", "json") }},
		{Key: "shutdown_timeout", Env: "SITREP_SHUTDOWN_TIMEOUT", Default: "15s", Help: "how long in-flight work may take after SIGTERM",
			apply: func(c *Config, v string) error { return duration(&c.ShutdownTimeout, v) }},
	}
}

// ConfigError is a configuration problem; sitrep exits with status 2.
type ConfigError struct{ msg string }

func (e *ConfigError) Error() string { return "configuration: " + e.msg }

// LoadConfig reads the YAML file at path (when path is non-empty; a missing
// file is an error only when required) and then the environment.
func LoadConfig(path string, required bool, getenv func(string) string) (Config, error) {
	var c Config
	all := settings()
	for _, s := range all {
		if err := s.apply(&c, s.Default); err != nil && s.Default != "" {
			return c, fmt.Errorf("default of %s: %w", s.Key, err)
		}
	}
	values, lines, err := readYAML(path, required)
	if err != nil {
		return c, err
	}
	var problems []string
	byKey := map[string]setting{}
	for _, s := range all {
		byKey[s.Key] = s
	}
	for key, v := range values {
		s, ok := byKey[key]
		if !ok {
			if m, name, found := mapEntry(byKey, key); found {
				if err := m.applyEntry(&c, name, v); err != nil {
					problems = append(problems, fmt.Sprintf("%s:%d: %s: %v", path, lines[key], key, err))
				}
				continue
			}
			problems = append(problems, fmt.Sprintf("%s:%d: unknown key %q (see the configuration table in README.md)", path, lines[key], key))
			continue
		}
		if err := s.apply(&c, v); err != nil {
			problems = append(problems, fmt.Sprintf("%s:%d: %s: %v", path, lines[key], key, err))
		}
	}
	for _, s := range all {
		if v, ok := lookupEnv(getenv, s.Env); ok {
			if err := s.apply(&c, v); err != nil {
				problems = append(problems, fmt.Sprintf("%s (%s): %v", s.Env, s.Key, err))
			}
		}
	}
	problems = append(problems, c.crossCheck()...)
	problems = append(problems, c.alertsCrossCheck()...)
	if len(problems) > 0 {
		slices.Sort(problems)
		return c, &ConfigError{msg: strings.Join(problems, "\n  ")}
	}
	return c, nil
}

// mapEntry finds the map setting a flattened YAML key is an entry of
// ("statuspage.components.api-gateway" of "statuspage.components").
func mapEntry(byKey map[string]setting, key string) (setting, string, bool) {
	for i := strings.LastIndexByte(key, '.'); i > 0; i = strings.LastIndexByte(key[:i], '.') {
		if s, ok := byKey[key[:i]]; ok && s.MapEntries {
			return s, key[i+1:], true
		}
	}
	return setting{}, "", false
}

func lookupEnv(getenv func(string) string, name string) (string, bool) {
	v := getenv(name)
	return v, v != ""
}

// readYAML flattens a YAML mapping into dotted keys with their lines.
func readYAML(path string, required bool) (map[string]string, map[string]int, error) {
	values, lines := map[string]string{}, map[string]int{}
	if path == "" {
		return values, lines, nil
	}
	raw, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) && !required {
		return values, lines, nil
	}
	if err != nil {
		return nil, nil, &ConfigError{msg: fmt.Sprintf("read %s: %v", path, err)}
	}
	var doc yaml.Node
	if err := yaml.NewDecoder(bytes.NewReader(raw)).Decode(&doc); err != nil {
		if errors.Is(err, io.EOF) { // an empty file
			return values, lines, nil
		}
		return nil, nil, &ConfigError{msg: fmt.Sprintf("%s: %v", path, err)}
	}
	if len(doc.Content) == 0 {
		return values, lines, nil
	}
	var walk func(prefix string, n *yaml.Node) error
	walk = func(prefix string, n *yaml.Node) error {
		if n.Kind != yaml.MappingNode {
			return &ConfigError{msg: fmt.Sprintf("%s:%d: expected a mapping of keys", path, n.Line)}
		}
		for i := 0; i+1 < len(n.Content); i += 2 {
			k, v := n.Content[i], n.Content[i+1]
			key := k.Value
			if prefix != "" {
				key = prefix + "." + key
			}
			switch v.Kind {
			case yaml.MappingNode:
				if err := walk(key, v); err != nil {
					return err
				}
			case yaml.ScalarNode:
				values[key], lines[key] = v.Value, k.Line
			default:
				return &ConfigError{msg: fmt.Sprintf("%s:%d: %s: expected a single value", path, k.Line, key)}
			}
		}
		return nil
	}
	if err := walk("", doc.Content[0]); err != nil {
		return nil, nil, err
	}
	return values, lines, nil
}

func nonEmpty(dst *string, v, what string) error {
	if strings.TrimSpace(v) == "" {
		return fmt.Errorf("must not be empty: give %s", what)
	}
	*dst = v
	return nil
}

func oneOf(dst *string, v string, allowed ...string) error {
	for _, a := range allowed {
		if v == a {
			*dst = v
			return nil
		}
	}
	return fmt.Errorf("%q: use one of %s", v, strings.Join(allowed, ", "))
}

func duration(dst *time.Duration, v string) error {
	d, err := time.ParseDuration(v)
	if err != nil || d < 0 {
		return fmt.Errorf("%q is not a duration (e.g. 15s, 2m)", v)
	}
	*dst = d
	return nil
}

// crossCheck finds combinations of settings that cannot work together.
func (c *Config) crossCheck() []string {
	var problems []string
	if c.Slack.AppToken != "" && c.Slack.BotToken == "" {
		problems = append(problems, "SLACK_BOT_TOKEN (slack.bot_token): required when SLACK_APP_TOKEN is set")
	}
	if c.Slack.Enabled() && !c.Slack.SocketMode() && c.Slack.SigningSecret == "" {
		problems = append(problems, "SLACK_SIGNING_SECRET (slack.signing_secret): required in HTTP mode; or set SLACK_APP_TOKEN for Socket Mode")
	}
	problems = append(problems, c.Postmortem.crossCheck()...)
	problems = append(problems, c.Web.crossCheck(c.Slack.Enabled())...)
	problems = append(problems, c.StatusPage.crossCheck()...)
	return problems
}
