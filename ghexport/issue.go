package ghexport

import (
	"context"
	"fmt"
	"strings"

	"github.com/google/go-github/v57/github"
	"github.com/sitrep-io/sitrep/bot"
)

// maxIssueBody stays under GitHub's 65,536-character limit on issue bodies.
const maxIssueBody = 65000

// publishIssue creates the postmortem issue, or updates the recorded one.
func (e *Exporter) publishIssue(ctx context.Context, inc bot.Incident, doc bot.File, prev bot.PostmortemExport) (bot.PostmortemExport, error) {
	req := &github.IssueRequest{
		Title: github.String(fmt.Sprintf("Postmortem: %s %s", inc.Key(), inc.Title)),
		Body:  github.String(issueBody(inc, doc)),
	}
	var is *github.Issue
	var err error
	if prev.IssueNumber > 0 {
		is, _, err = e.gh.Issues.Edit(ctx, e.owner, e.repo, prev.IssueNumber, req)
		if err != nil {
			return bot.PostmortemExport{}, e.classify(err, fmt.Sprintf("update postmortem issue #%d", prev.IssueNumber))
		}
	} else {
		req.Labels = labels(e.labels)
		is, _, err = e.gh.Issues.Create(ctx, e.owner, e.repo, req)
		if err != nil {
			return bot.PostmortemExport{}, e.classify(err, "open the postmortem issue")
		}
	}
	return bot.PostmortemExport{Mode: ModeIssue, IssueNumber: is.GetNumber(), IssueURL: is.GetHTMLURL()}, nil
}

func issueBody(inc bot.Incident, doc bot.File) string {
	body, cut := bot.CutAtLine(string(doc.Content), maxIssueBody)
	if !cut {
		return body
	}
	return body + fmt.Sprintf("\n\n(cut at GitHub's issue size limit: run `sitrep postmortem %s --out %s` for the whole draft, or use GITHUB_EXPORT_MODE=file)\n", inc.Key(), doc.Name)
}

// PublishFollowUp creates the follow-up's issue, or updates it when it has
// one. The owner is named in the body: chat users are not GitHub users.
func (e *Exporter) PublishFollowUp(ctx context.Context, inc bot.Incident, f bot.FollowUp, ownerName string) (bot.TrackerRef, error) {
	text := strings.Join(strings.Fields(f.Text), " ")
	if len(text) > 200 {
		text = text[:200] + "…"
	}
	owner := ownerName
	if owner == "" {
		owner = "none yet: assign one before the review"
	}
	req := &github.IssueRequest{
		Title: github.String(fmt.Sprintf("%s follow-up: %s", inc.Key(), text)),
		Body: github.String(fmt.Sprintf("An action item from the postmortem of %s (%s), recorded with `/incident followup` on %s.\n\n%s\n\nOwner: %s\n",
			inc.Key(), inc.Title, f.CreatedAt.UTC().Format("2006-01-02 15:04 UTC"), f.Text, owner)),
	}
	var is *github.Issue
	var err error
	if f.IssueNumber > 0 {
		is, _, err = e.gh.Issues.Edit(ctx, e.owner, e.repo, f.IssueNumber, req)
		if err != nil {
			return bot.TrackerRef{}, e.classify(err, fmt.Sprintf("update follow-up issue #%d", f.IssueNumber))
		}
	} else {
		req.Labels = labels(e.followUpLabels)
		is, _, err = e.gh.Issues.Create(ctx, e.owner, e.repo, req)
		if err != nil {
			return bot.TrackerRef{}, e.classify(err, "open a follow-up issue")
		}
	}
	return bot.TrackerRef{Number: is.GetNumber(), URL: is.GetHTMLURL()}, nil
}

// labels is nil for no labels, so the request leaves them out.
func labels(ls []string) *[]string {
	if len(ls) == 0 {
		return nil
	}
	return &ls
}
