package main

import (
	"fmt"
	"maps"
	"net"
	"net/url"
	"regexp"
	"slices"
	"strings"

	"github.com/sitrep-io/sitrep/statuspage"
)

// StatusPageConfig configures publishing to a status page: Atlassian
// Statuspage (with an API key and a page), the built-in page (with an
// address), or both.
type StatusPageConfig struct {
	APIKey string
	PageID string
	APIURL string
	// Components maps the incident label's value (Label, "service") to a
	// component id (name → id).
	Components map[string]string
	Label      string
	// Addr is the listen address of the built-in page; "" serves none.
	Addr  string
	Title string
}

// Atlassian reports whether Statuspage is configured.
func (c StatusPageConfig) Atlassian() bool { return c.APIKey != "" }

// Enabled reports whether any status page is configured.
func (c StatusPageConfig) Enabled() bool { return c.Atlassian() || c.Addr != "" }

// componentName is what a component may be called: it is shown on the page
// and typed in forms.
var componentName = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$`)

func statusPageSettings() []setting {
	return []setting{
		{Key: "statuspage.api_key", Env: "STATUSPAGE_API_KEY", Secret: true,
			Help:  "Atlassian Statuspage API key (a user with the Incident Manager role); unset: no Statuspage",
			apply: func(c *Config, v string) error { c.StatusPage.APIKey = strings.TrimSpace(v); return nil }},
		{Key: "statuspage.page_id", Env: "STATUSPAGE_PAGE_ID", Help: "the Statuspage page id; required with `STATUSPAGE_API_KEY`",
			apply: func(c *Config, v string) error {
				if v != "" && !componentName.MatchString(v) {
					return fmt.Errorf("%q is not a page id (letters and digits)", v)
				}
				c.StatusPage.PageID = v
				return nil
			}},
		{Key: "statuspage.api_url", Env: "STATUSPAGE_API_URL", Default: statuspage.DefaultAPIURL,
			Help: "Statuspage REST API base URL (tests and proxies point it elsewhere)",
			apply: func(c *Config, v string) error {
				u, err := url.Parse(v)
				if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
					return fmt.Errorf("%q is not an http(s) URL", v)
				}
				c.StatusPage.APIURL = strings.TrimRight(v, "/")
				return nil
			}},
		{Key: "statuspage.components", Env: "STATUSPAGE_COMPONENTS", MapEntries: true,
			Help: "the status page's components by the incident's `statuspage.label` value: `api-gateway=<component id>,…` (YAML: a map); the built-in page shows them by name",
			apply: func(c *Config, v string) error {
				m, err := parseComponents(v)
				if err != nil {
					return err
				}
				c.StatusPage.Components = m
				return nil
			},
			applyEntry: func(c *Config, name, v string) error {
				m, err := parseComponents(name + "=" + v)
				if err != nil {
					return err
				}
				if c.StatusPage.Components == nil {
					c.StatusPage.Components = map[string]string{}
				}
				maps.Copy(c.StatusPage.Components, m)
				return nil
			}},
		{Key: "statuspage.label", Env: "STATUSPAGE_LABEL", Default: "service",
			Help:  "the incident label whose value names its component",
			apply: func(c *Config, v string) error { return nonEmpty(&c.StatusPage.Label, v, "a label name") }},
		{Key: "status.addr", Env: "SITREP_STATUS_ADDR",
			Help: "listen address (host:port) of the built-in status page, which serves only what was published; unset: none",
			apply: func(c *Config, v string) error {
				if v != "" {
					if _, _, err := net.SplitHostPort(v); err != nil {
						return fmt.Errorf("%q is not host:port (e.g. :8081)", v)
					}
				}
				c.StatusPage.Addr = v
				return nil
			}},
		{Key: "status.title", Env: "SITREP_STATUS_TITLE", Default: "Status",
			Help:  "the built-in status page's heading (e.g. `Olla status`)",
			apply: func(c *Config, v string) error { return nonEmpty(&c.StatusPage.Title, v, "a title") }},
	}
}

// parseComponents reads "name=id,name=id".
func parseComponents(v string) (map[string]string, error) {
	m := map[string]string{}
	for pair := range strings.SplitSeq(v, ",") {
		pair = strings.TrimSpace(pair)
		if pair == "" {
			continue
		}
		name, id, ok := strings.Cut(pair, "=")
		name, id = strings.TrimSpace(name), strings.TrimSpace(id)
		if !ok || !componentName.MatchString(name) || !componentName.MatchString(id) {
			return nil, fmt.Errorf("%q: use name=<component id> pairs, comma-separated (letters, digits, . _ -)", pair)
		}
		if _, dup := m[name]; dup {
			return nil, fmt.Errorf("component %q is named twice", name)
		}
		m[name] = id
	}
	return m, nil
}

func (c StatusPageConfig) crossCheck() []string {
	var problems []string
	if c.APIKey != "" && c.PageID == "" {
		problems = append(problems, "STATUSPAGE_PAGE_ID (statuspage.page_id): required when STATUSPAGE_API_KEY is set")
	}
	if c.PageID != "" && c.APIKey == "" {
		problems = append(problems, "STATUSPAGE_API_KEY (statuspage.api_key): required when STATUSPAGE_PAGE_ID is set")
	}
	if len(c.Components) > 0 && !c.Enabled() {
		problems = append(problems, fmt.Sprintf("STATUSPAGE_COMPONENTS (statuspage.components): set STATUSPAGE_API_KEY or SITREP_STATUS_ADDR to publish %s", strings.Join(slices.Sorted(maps.Keys(c.Components)), ", ")))
	}
	return problems
}
