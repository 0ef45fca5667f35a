package main

import (
	"errors"
	"net/url"
	"strings"
)

// WebConfig is the web view's configuration.
type WebConfig struct {
	// PublicURL is where people reach sitrep (links, Secure cookies, the
	// Slack sign-in redirect). Empty: http://localhost with addr's port.
	PublicURL    string
	ClientID     string // Sign in with Slack: the app's client id
	ClientSecret string
	OIDCIssuer   string
}

// SlackSignIn reports whether Sign in with Slack is configured.
func (c WebConfig) SlackSignIn() bool { return c.ClientID != "" }

func webSettings() []setting {
	return []setting{
		{Key: "public_url", Env: "SITREP_PUBLIC_URL",
			Help: "where people reach sitrep, e.g. `https://sitrep.example.com`: web-view links, `Secure` cookies (https), the Slack sign-in redirect; unset: `http://localhost` and the port of `addr`",
			apply: func(c *Config, v string) error {
				if v == "" {
					c.Web.PublicURL = ""
					return nil
				}
				u, err := url.Parse(v)
				if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || (u.Path != "" && u.Path != "/") {
					return errors.New("give the base URL only, e.g. https://sitrep.example.com")
				}
				c.Web.PublicURL = strings.TrimRight(v, "/")
				return nil
			}},
		{Key: "slack.client_id", Env: "SLACK_CLIENT_ID", Help: "Sign in with Slack: the app's client id (Basic Information → App Credentials); unset: the web view takes one-time links only",
			apply: func(c *Config, v string) error { c.Web.ClientID = v; return nil }},
		{Key: "slack.client_secret", Env: "SLACK_CLIENT_SECRET", Secret: true, Help: "Sign in with Slack: the app's client secret; required with `SLACK_CLIENT_ID`",
			apply: func(c *Config, v string) error { c.Web.ClientSecret = v; return nil }},
		{Key: "slack.oidc_issuer", Env: "SLACK_OIDC_ISSUER", Default: "https://slack.com", Help: "Slack's OpenID Connect issuer (tests point it elsewhere)",
			apply: func(c *Config, v string) error { return nonEmpty(&c.Web.OIDCIssuer, v, "a URL") }},
	}
}

// publicURL is the configured public URL, or the local one.
func (c Config) publicURL() string {
	if c.Web.PublicURL != "" {
		return c.Web.PublicURL
	}
	port := c.Addr[strings.LastIndex(c.Addr, ":")+1:]
	return "http://localhost:" + port
}

// crossCheck finds web settings that cannot work together.
func (c WebConfig) crossCheck(slackEnabled bool) []string {
	if c.ClientID == "" {
		return nil
	}
	var problems []string
	if c.ClientSecret == "" {
		problems = append(problems, "SLACK_CLIENT_SECRET (slack.client_secret): required with SLACK_CLIENT_ID")
	}
	if !slackEnabled {
		problems = append(problems, "SLACK_BOT_TOKEN (slack.bot_token): required with SLACK_CLIENT_ID (sign-in is checked against the bot's workspace)")
	}
	if c.PublicURL == "" {
		problems = append(problems, "SITREP_PUBLIC_URL (public_url): required with SLACK_CLIENT_ID (Slack sends people back to it)")
	}
	return problems
}
