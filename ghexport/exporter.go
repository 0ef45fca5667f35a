// Package ghexport exports postmortems and their follow-ups to GitHub
// through go-github: as a Markdown file committed to a branch with a pull
// request (mode "file"), or as an issue (mode "issue"); each follow-up
// becomes an issue. Exporting again updates what the last export created.
// It implements bot.PostmortemPublisher.
package ghexport

import (
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/google/go-github/v57/github"
	"github.com/sitrep-io/sitrep/bot"
)

// Export modes.
const (
	ModeFile  = "file"  // commit postmortems/<date>-<inc-id>-<slug>.md on a branch, open a pull request
	ModeIssue = "issue" // open an issue with the postmortem as its body
)

// Config configures an Exporter.
type Config struct {
	Token  string // a token with contents, pull requests and issues write access
	Repo   string // "owner/name"
	APIURL string // e.g. https://api.github.com/ (a trailing "/" is added)
	Mode   string // ModeFile (default) or ModeIssue
	// Labels go on the postmortem issue (issue mode); FollowUpLabels on
	// follow-up issues.
	Labels         []string
	FollowUpLabels []string
	// HTTPClient is copied for the API (its transport and timeout); nil: a
	// client with a 30s timeout. The caller's client is never modified.
	HTTPClient *http.Client
	Now        func() time.Time // nil: time.Now
}

// Exporter publishes postmortems to one GitHub repository.
type Exporter struct {
	gh             *github.Client
	owner, repo    string
	mode           string
	labels         []string
	followUpLabels []string
	now            func() time.Time
}

var _ bot.PostmortemPublisher = (*Exporter)(nil)

// New returns an Exporter for cfg. It returns an error naming the setting
// at fault when cfg cannot work.
func New(cfg Config) (*Exporter, error) {
	owner, repo, ok := strings.Cut(cfg.Repo, "/")
	if !ok || owner == "" || repo == "" || strings.Contains(repo, "/") {
		return nil, fmt.Errorf("GITHUB_REPO %q: use owner/name", cfg.Repo)
	}
	if cfg.Token == "" {
		return nil, fmt.Errorf("GITHUB_TOKEN is required to export to GitHub")
	}
	mode := cfg.Mode
	if mode == "" {
		mode = ModeFile
	}
	if mode != ModeFile && mode != ModeIssue {
		return nil, fmt.Errorf("GITHUB_EXPORT_MODE %q: use file or issue", cfg.Mode)
	}
	api := cfg.APIURL
	if api == "" {
		api = "https://api.github.com/"
	}
	if !strings.HasSuffix(api, "/") {
		api += "/" // go-github resolves paths against BaseURL
	}
	base, err := url.Parse(api)
	if err != nil || (base.Scheme != "http" && base.Scheme != "https") || base.Host == "" {
		return nil, fmt.Errorf("GITHUB_API_URL %q is not an http(s) URL", cfg.APIURL)
	}
	// WithAuthToken wraps the transport of the client it is given in
	// place: hand it a copy, never the caller's client.
	hc := &http.Client{Timeout: 30 * time.Second}
	if cfg.HTTPClient != nil {
		c := *cfg.HTTPClient
		hc = &c
	}
	gh := github.NewClient(hc).WithAuthToken(cfg.Token)
	gh.BaseURL = base
	now := cfg.Now
	if now == nil {
		now = time.Now
	}
	return &Exporter{gh: gh, owner: owner, repo: repo, mode: mode, labels: cfg.Labels,
		followUpLabels: cfg.FollowUpLabels, now: now}, nil
}

// Target names the repository, "owner/name".
func (e *Exporter) Target() string { return e.owner + "/" + e.repo }

// Mode is the export mode, ModeFile or ModeIssue.
func (e *Exporter) Mode() string { return e.mode }

// FilePath is where the postmortem of inc is committed in file mode:
// postmortems/<date>-<inc-id>-<slug>.md, dated by the declaration (UTC).
func FilePath(inc bot.Incident) string {
	date := inc.DeclaredAt.UTC().Format("2006-01-02")
	slug := bot.Slug(inc.Title)
	if len(slug) > 60 {
		slug = strings.TrimRight(slug[:60], "-")
	}
	name := fmt.Sprintf("%s-inc-%d", date, inc.ID)
	if slug != "" {
		name += "-" + slug
	}
	return "postmortems/" + name + ".md"
}

// BranchName is the branch the postmortem of inc is committed to.
func BranchName(inc bot.Incident) string { return fmt.Sprintf("sitrep/postmortem-inc-%d", inc.ID) }
