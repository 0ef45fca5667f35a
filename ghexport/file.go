package ghexport

import (
	"bytes"
	"context"
	"fmt"
	"net/http"

	"github.com/google/go-github/v57/github"
	"github.com/sitrep-io/sitrep/bot"
)

// PublishPostmortem creates or updates the postmortem of inc: in file mode
// the file on its branch and the pull request, in issue mode the issue.
// prev is what the last export created. Every step looks before it writes
// (the branch, the file's blob sha, an open pull request from the branch),
// so a retry after a partial failure finishes the job instead of repeating
// it. Errors: *bot.TemporaryError for rate limits, 5xx, conflicts and
// network failures; *bot.Error saying what to fix otherwise.
func (e *Exporter) PublishPostmortem(ctx context.Context, inc bot.Incident, doc bot.File, prev bot.PostmortemExport) (bot.PostmortemExport, error) {
	if e.mode == ModeIssue {
		return e.publishIssue(ctx, inc, doc, prev)
	}
	return e.publishFile(ctx, inc, doc, prev)
}

func (e *Exporter) publishFile(ctx context.Context, inc bot.Incident, doc bot.File, prev bot.PostmortemExport) (bot.PostmortemExport, error) {
	out := bot.PostmortemExport{Mode: ModeFile, Path: prev.Path, Branch: prev.Branch}
	if out.Path == "" {
		out.Path = FilePath(inc)
	}
	if out.Branch == "" {
		out.Branch = BranchName(inc)
	}
	repo, _, err := e.gh.Repositories.Get(ctx, e.owner, e.repo)
	if err != nil {
		return out, e.classify(err, "read the repository")
	}
	base := repo.GetDefaultBranch()
	if err := e.ensureBranch(ctx, out.Branch, base); err != nil {
		return out, err
	}
	if out.FileURL, err = e.commitFile(ctx, inc, doc, out.Path, out.Branch); err != nil {
		return out, err
	}
	pr, err := e.ensurePull(ctx, inc, out.Branch, base, prev.PRNumber)
	if err != nil {
		return out, err
	}
	out.PRNumber, out.PRURL = pr.GetNumber(), pr.GetHTMLURL()
	return out, nil
}

// ensureBranch creates branch from base's head unless it exists.
func (e *Exporter) ensureBranch(ctx context.Context, branch, base string) error {
	_, _, err := e.gh.Git.GetRef(ctx, e.owner, e.repo, "heads/"+branch)
	if err == nil {
		return nil
	}
	if !isStatus(err, http.StatusNotFound) {
		return e.classify(err, "look up branch "+branch)
	}
	head, _, err := e.gh.Git.GetRef(ctx, e.owner, e.repo, "heads/"+base)
	if err != nil {
		return e.classify(err, "read the head of "+base)
	}
	ref := &github.Reference{Ref: github.String("refs/heads/" + branch), Object: &github.GitObject{SHA: head.Object.SHA}}
	if _, _, err := e.gh.Git.CreateRef(ctx, e.owner, e.repo, ref); err != nil {
		// Another export may have created it a moment ago: look again
		// rather than read the error's text.
		if _, _, again := e.gh.Git.GetRef(ctx, e.owner, e.repo, "heads/"+branch); again == nil {
			return nil
		}
		return e.classify(err, "create branch "+branch)
	}
	return nil
}

// commitFile writes doc at path on branch: created when missing, updated
// with the current blob sha when it differs, left alone when it is the
// same. It returns the file's web URL.
func (e *Exporter) commitFile(ctx context.Context, inc bot.Incident, doc bot.File, path, branch string) (string, error) {
	cur, _, _, err := e.gh.Repositories.GetContents(ctx, e.owner, e.repo, path, &github.RepositoryContentGetOptions{Ref: branch})
	if err != nil && !isStatus(err, http.StatusNotFound) {
		return "", e.classify(err, "read "+path)
	}
	opts := &github.RepositoryContentFileOptions{Content: doc.Content, Branch: github.String(branch),
		Message: github.String(fmt.Sprintf("Postmortem draft of %s: %s", inc.Key(), inc.Title))}
	if cur == nil {
		res, _, err := e.gh.Repositories.CreateFile(ctx, e.owner, e.repo, path, opts)
		if err != nil {
			return "", e.classify(err, "commit "+path)
		}
		return res.Content.GetHTMLURL(), nil
	}
	if text, err := cur.GetContent(); err == nil && bytes.Equal([]byte(text), doc.Content) {
		return cur.GetHTMLURL(), nil
	}
	opts.Message = github.String(fmt.Sprintf("Update the postmortem draft of %s", inc.Key()))
	opts.SHA = github.String(cur.GetSHA())
	res, _, err := e.gh.Repositories.UpdateFile(ctx, e.owner, e.repo, path, opts)
	if err != nil {
		return "", e.classify(err, "update "+path)
	}
	return res.Content.GetHTMLURL(), nil
}

// ensurePull finds the pull request from branch (the recorded one first)
// and updates it, or opens one.
func (e *Exporter) ensurePull(ctx context.Context, inc bot.Incident, branch, base string, number int) (*github.PullRequest, error) {
	title := fmt.Sprintf("Postmortem: %s %s", inc.Key(), inc.Title)
	body := fmt.Sprintf("The postmortem draft of %s, drafted by sitrep from the recorded timeline. "+
		"The facts are filled in; the prompts marked ✍ are for the responders to write before review.", inc.Key())
	pr, err := e.findPull(ctx, branch, number)
	if err != nil {
		return nil, err
	}
	if pr != nil && !merged(pr) {
		edit := &github.PullRequest{Title: github.String(title), Body: github.String(body)}
		if pr.GetState() == "closed" {
			edit.State = github.String("open")
		}
		pr, _, err = e.gh.PullRequests.Edit(ctx, e.owner, e.repo, pr.GetNumber(), edit)
		if err != nil {
			return nil, e.classify(err, "update the pull request")
		}
		return pr, nil
	}
	pr, _, err = e.gh.PullRequests.Create(ctx, e.owner, e.repo, &github.NewPullRequest{
		Title: github.String(title), Head: github.String(branch), Base: github.String(base), Body: github.String(body)})
	if err != nil {
		return nil, e.classify(err, "open a pull request from "+branch)
	}
	return pr, nil
}

// findPull returns the recorded pull request, or else one from branch; nil
// when there is none.
func (e *Exporter) findPull(ctx context.Context, branch string, number int) (*github.PullRequest, error) {
	if number > 0 {
		pr, _, err := e.gh.PullRequests.Get(ctx, e.owner, e.repo, number)
		if err == nil {
			return pr, nil
		}
		if !isStatus(err, http.StatusNotFound) {
			return nil, e.classify(err, fmt.Sprintf("read pull request #%d", number))
		}
	}
	prs, _, err := e.gh.PullRequests.List(ctx, e.owner, e.repo, &github.PullRequestListOptions{
		Head: e.owner + ":" + branch, State: "all"})
	if err != nil {
		return nil, e.classify(err, "list pull requests from "+branch)
	}
	for _, pr := range prs {
		if !merged(pr) {
			return pr, nil
		}
	}
	return nil, nil
}

// merged reports whether pr was merged; lists carry only merged_at.
func merged(pr *github.PullRequest) bool { return pr.GetMerged() || pr.MergedAt != nil }
