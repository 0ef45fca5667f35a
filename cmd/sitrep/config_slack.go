package main

import (
	"fmt"
	"net/url"
	"strconv"
	"strings"
)

// SlackConfig connects sitrep to a Slack workspace. With no bot token the
// console is the chat.
type SlackConfig struct {
	BotToken      string
	SigningSecret string
	AppToken      string // set: Socket Mode (no public URL needed)
	APIURL        string // ends in "/"
	// WorkspaceID is the workspace (T…) or Enterprise Grid organisation
	// (E…) whose requests are accepted; empty: the bot token's own, from
	// auth.test.
	WorkspaceID string
	// Replicas is how many sitrep serve share the Slack app's rate limits.
	Replicas int
}

// Enabled reports whether Slack is configured.
func (c SlackConfig) Enabled() bool { return c.BotToken != "" }

// SocketMode reports whether to connect over Socket Mode instead of HTTP.
func (c SlackConfig) SocketMode() bool { return c.AppToken != "" }

func slackSettings() []setting {
	return []setting{
		{Key: "slack.bot_token", Env: "SLACK_BOT_TOKEN", Secret: true, Help: "bot token (`xoxb-…`); unset: the console is the chat",
			apply: func(c *Config, v string) error {
				if v != "" && !strings.HasPrefix(v, "xoxb-") {
					return fmt.Errorf("a bot token starts with xoxb- (OAuth & Permissions → Bot User OAuth Token)")
				}
				c.Slack.BotToken = v
				return nil
			}},
		{Key: "slack.signing_secret", Env: "SLACK_SIGNING_SECRET", Secret: true, Help: "signing secret (Basic Information → App Credentials); required in HTTP mode",
			apply: func(c *Config, v string) error { c.Slack.SigningSecret = v; return nil }},
		{Key: "slack.app_token", Env: "SLACK_APP_TOKEN", Secret: true, Help: "app-level token (`xapp-…`, scope `connections:write`); set: Socket Mode",
			apply: func(c *Config, v string) error {
				if v != "" && !strings.HasPrefix(v, "xapp-") {
					return fmt.Errorf("an app-level token starts with xapp- (Basic Information → App-Level Tokens)")
				}
				c.Slack.AppToken = v
				return nil
			}},
		{Key: "slack.workspace_id", Env: "SLACK_WORKSPACE_ID", Help: "workspace (`T…`) or Enterprise Grid organisation (`E…`) whose requests are accepted; unset: the bot token's own (auth.test)",
			apply: func(c *Config, v string) error {
				if v != "" && !strings.HasPrefix(v, "T") && !strings.HasPrefix(v, "E") {
					return fmt.Errorf("%q is neither a workspace id (T…) nor an enterprise id (E…)", v)
				}
				c.Slack.WorkspaceID = v
				return nil
			}},
		{Key: "slack.api_url", Env: "SLACK_API_URL", Default: "https://slack.com/api/", Help: "Slack Web API base URL (tests and proxies point it elsewhere)",
			apply: func(c *Config, v string) error {
				u, err := url.Parse(v)
				if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
					return fmt.Errorf("%q is not an http(s) URL", v)
				}
				if !strings.HasSuffix(v, "/") {
					v += "/" // slack-go silently drops the last path segment otherwise
				}
				c.Slack.APIURL = v
				return nil
			}},
		{Key: "slack.replicas", Env: "SITREP_REPLICAS", Default: "1", Help: "how many `sitrep serve` replicas share the Slack app: each paces its calls to 1/N of Slack's per-method rate limits, so that together they stay within them",
			apply: func(c *Config, v string) error {
				n, err := strconv.Atoi(v)
				if err != nil || n < 1 {
					return fmt.Errorf("%q: must be a whole number of replicas, at least 1", v)
				}
				c.Slack.Replicas = n
				return nil
			}},
	}
}
