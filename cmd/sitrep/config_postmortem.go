package main

import (
	"fmt"
	"net/url"
	"strings"
	"time"
	_ "time/tzdata" // SITREP_TIMEZONE works in images without a zoneinfo database

	"github.com/sitrep-io/sitrep/postmortem"
)

// PostmortemConfig configures drafting postmortems and exporting them to
// GitHub.
type PostmortemConfig struct {
	Location *time.Location // the team's time zone, shown beside UTC
	Template string         // a text/template file; "": the shipped one
	GitHub   GitHubConfig
}

// GitHubConfig is where postmortems are exported. Without a token and a
// repository, "/incident export" explains how to configure it.
type GitHubConfig struct {
	Token          string
	Repo           string // owner/name
	APIURL         string // ends in "/"
	Mode           string // file or issue
	Labels         []string
	FollowUpLabels []string
}

// Enabled reports whether export is configured.
func (c GitHubConfig) Enabled() bool { return c.Token != "" && c.Repo != "" }

func postmortemSettings() []setting {
	return []setting{
		{Key: "timezone", Env: "SITREP_TIMEZONE", Default: "UTC",
			Help: "the team's IANA time zone (e.g. `America/Los_Angeles`): postmortem times are shown in it beside UTC, `/incident impact` and `/incident update --next` read `HH:MM` in it, and status updates and their drafts show `HH:MM` in it",
			apply: func(c *Config, v string) error {
				loc, err := time.LoadLocation(v)
				if err != nil || v == "" || v == "Local" {
					return fmt.Errorf("%q is not an IANA time zone name (e.g. UTC, Europe/Berlin, America/Los_Angeles)", v)
				}
				c.Postmortem.Location = loc
				return nil
			}},
		{Key: "postmortem.template", Env: "SITREP_POSTMORTEM_TEMPLATE",
			Help: "a Go `text/template` file that replaces the shipped postmortem template (`postmortem/template.md.tmpl`)",
			apply: func(c *Config, v string) error {
				if v != "" {
					if _, err := postmortem.LoadRenderer(v); err != nil {
						return err
					}
				}
				c.Postmortem.Template = v
				return nil
			}},
		{Key: "github.token", Env: "GITHUB_TOKEN", Secret: true,
			Help:  "token with write access to the contents, pull requests and issues of `github.repo`; unset: no export",
			apply: func(c *Config, v string) error { c.Postmortem.GitHub.Token = v; return nil }},
		{Key: "github.repo", Env: "GITHUB_REPO", Help: "repository postmortems are exported to, `owner/name`",
			apply: func(c *Config, v string) error {
				if o, r, ok := strings.Cut(v, "/"); v != "" && (!ok || o == "" || r == "" || strings.Contains(r, "/")) {
					return fmt.Errorf("%q: use owner/name", v)
				}
				c.Postmortem.GitHub.Repo = v
				return nil
			}},
		{Key: "github.api_url", Env: "GITHUB_API_URL", Default: "https://api.github.com/",
			Help: "GitHub REST API base URL (GitHub Enterprise: `https://HOST/api/v3/`)",
			apply: func(c *Config, v string) error {
				u, err := url.Parse(v)
				if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
					return fmt.Errorf("%q is not an http(s) URL", v)
				}
				if !strings.HasSuffix(v, "/") {
					v += "/" // go-github resolves paths against it
				}
				c.Postmortem.GitHub.APIURL = v
				return nil
			}},
		{Key: "github.export_mode", Env: "GITHUB_EXPORT_MODE", Default: "file",
			Help:  "`file`: commit `postmortems/<date>-<inc-id>-<slug>.md` on a branch and open a pull request; `issue`: open an issue",
			apply: func(c *Config, v string) error { return oneOf(&c.Postmortem.GitHub.Mode, v, "file", "issue") }},
		{Key: "github.labels", Env: "GITHUB_LABELS", Default: "postmortem",
			Help:  "comma-separated labels of the postmortem issue (issue mode); they must exist in the repository",
			apply: func(c *Config, v string) error { c.Postmortem.GitHub.Labels = splitList(v); return nil }},
		{Key: "github.followup_labels", Env: "GITHUB_FOLLOWUP_LABELS", Default: "follow-up",
			Help:  "comma-separated labels of follow-up issues; they must exist in the repository",
			apply: func(c *Config, v string) error { c.Postmortem.GitHub.FollowUpLabels = splitList(v); return nil }},
	}
}

// crossCheck: a repository without a token cannot be exported to. A token
// alone is ignored: GITHUB_TOKEN is often set for other tools.
func (c PostmortemConfig) crossCheck() []string {
	if c.GitHub.Repo != "" && c.GitHub.Token == "" {
		return []string{"GITHUB_TOKEN (github.token): required when GITHUB_REPO is set"}
	}
	return nil
}
