package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"time"

	"github.com/sitrep-io/sitrep/bot"
	"github.com/sitrep-io/sitrep/handlers"
	"github.com/sitrep-io/sitrep/web"
)

// wireWeb mounts the web view at "/" (and the REST API at /api/), beside
// the webhooks and Slack's endpoints, which keep their own authentication.
func wireWeb(cfg Config, svc *bot.Service, sessions bot.SessionStore, pms *postmortems, slackEdge *slackEdge, log *slog.Logger, routes *handlers.Routes) *web.Server {
	w := &web.Server{Service: svc, Sessions: sessions, Drafter: pms.drafter, Postmortems: pms.cmds,
		Location: cfg.Postmortem.Location, PublicURL: cfg.publicURL(), Log: log, Now: svc.Now}
	if slackEdge != nil {
		if cfg.Web.SlackSignIn() {
			w.Slack = &web.SlackSignIn{ClientID: cfg.Web.ClientID, ClientSecret: cfg.Web.ClientSecret, Issuer: cfg.Web.OIDCIssuer,
				RedirectURL: cfg.publicURL() + "/login/slack/callback",
				Workspace: func(ctx context.Context) (string, error) {
					ws, err := slackEdge.workspace(ctx)
					return ws.TeamID, err
				}}
		}
	}
	api := &handlers.API{Service: svc, Postmortems: pms.cmds, Drafter: pms.drafter, Tokens: cfg.API.Tokens, Log: log}
	if routes.Extra == nil {
		routes.Extra = map[string]http.Handler{}
	}
	routes.Extra["/api/"] = api.Handler()
	routes.Extra["/"] = w.Handler()
	return w
}

// printLoginLink tells the person at the terminal how to open the web view
// when there is no Slack to sign in with.
func printLoginLink(ctx context.Context, cfg Config, sessions bot.SessionStore, user string, out io.Writer) error {
	link, err := web.NewLoginLink(ctx, sessions, cfg.publicURL(), user, "", time.Now())
	if err != nil {
		return err
	}
	fmt.Fprintf(out, "web view: open %s to sign in as %s (one use, expires in %s; `sitrep web-login` makes another)\n",
		link, user, web.LoginLinkTTL)
	return nil
}

// webLoginCommand prints a one-time sign-in link: the way in that needs only
// a shell on the server, also while Slack is down.
func webLoginCommand(ctx context.Context, cfg Config, out io.Writer, user string) error {
	if user == "" {
		user = cfg.ConsoleUser
	}
	db, err := openStore(ctx, cfg)
	if err != nil {
		return err
	}
	defer db.Close()
	return printLoginLink(ctx, cfg, db, user, out)
}
