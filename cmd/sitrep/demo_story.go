package main

import (
	"context"
	"crypto/tls"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/sitrep-io/sitrep/bot"
	"github.com/sitrep-io/sitrep/internal/pdfake"
	"github.com/sitrep-io/sitrep/runbooks"
)

// demoStep is one moment of the seed night: the clock moves to At (UTC),
// then Do happens.
type demoStep struct {
	At   string // "HH:MM:SS" on 2020-10-08 UTC
	What string
	Do   func(d *demo) error
}

// seedSteps is the seed night. Times the seed records are kept to the
// minute (status-page posts in UTC; the postmortem's 17:06, 18:50, 19:05,
// 20:45 and 21:37 PT); what the seed tells without a time happens at the
// recorded moment it follows from, seconds apart.
func seedSteps() []demoStep {
	// The seed's team posted the same sentence five times. Before each
	// post the comms lead opens the update form, which sitrep fills with
	// the draft of what the timeline recorded since; sitrep stops a
	// word-for-word repeat; the replay then posts the seed's text anyway,
	// as it was sent that night.
	update := func(text string) func(d *demo) error {
		return func(d *demo) error {
			if err := d.draftForm(cam); err != nil {
				return err
			}
			answer, err := d.ask(cam, "update "+text)
			if err != nil || !strings.Contains(answer, "repeats the status update") {
				return err
			}
			return d.command(cam, "update --anyway "+text, "SEV1")
		}
	}
	return []demoStep{
		{"00:06:00", "the gateway's certificate renewal breaks the Platform API; PagerDuty pages", (*demo).alert},
		{"00:13:00", "the lead engineer takes the incident; the status page says Investigating", (*demo).takeIt},
		{"00:51:00", "status-page update", update(seedInvestigating)},
		{"01:23:00", "status-page update", update(seedInvestigating)},
		{"01:50:00", "load, they think: scale up the pool and reboot its servers", (*demo).scaleUp},
		{"01:50:40", "does the Platform API answer again?", (*demo).probeStillFailing},
		{"02:05:00", "a full reboot of every server, then a certificate audit", (*demo).audit},
		{"02:07:00", "status-page update", update(seedInvestigating)},
		{"03:01:00", "status-page update", update(seedInvestigating)},
		{"03:45:00", "the cause is identified", func(d *demo) error {
			return d.command(lena, "status identified The daily automatic certificate renewal of the unexpired Platform API certificate left an invalid configuration in the API gateway; all Platform API traffic fails there", "identified")
		}},
		{"03:53:00", "status-page update", update(seedStillLooking)},
		{"04:37:00", "re-order the certificate without installing it; the stores come back", (*demo).reorder},
		{"04:42:00", "the status page says Monitoring", func(d *demo) error {
			if err := d.command(lena, "status monitoring", "monitoring"); err != nil {
				return err
			}
			return d.command(cam, "update "+seedMonitoring, "monitoring")
		}},
		{"04:56:00", "resolved; the postmortem is drafted and exported", (*demo).resolve},
	}
}

// replaySeed runs the seed night step by step, each at its seed time.
func (d *demo) replaySeed() error {
	fmt.Fprintf(d.tr.w, "sitrep demo: the seed outage of Wednesday 2020-10-07 (%s), replayed through the real server.\n", demoTimezone)
	fmt.Fprintf(d.tr.w, "Slack, PagerDuty and GitHub are local stand-ins; the API gateway is https://%s. Nothing leaves this machine.\n", d.gateway.Addr())
	for i, s := range seedSteps() {
		if i > 0 && d.pace > 0 {
			select { // a pause for people watching, not a wait for sitrep
			case <-time.After(d.pace):
			case <-d.ctx.Done():
				return d.ctx.Err()
			}
		}
		fmt.Fprintln(d.tr.w)
		if err := d.at(seedTime(s.At)); err != nil {
			return fmt.Errorf("step %d at %s UTC (%s): %w", i+1, s.At, s.What, err)
		}
		if err := s.Do(d); err != nil {
			return fmt.Errorf("step %d at %s UTC (%s): %w", i+1, s.At, s.What, err)
		}
		if err := d.settle(); err != nil {
			return fmt.Errorf("step %d at %s UTC (%s): %w", i+1, s.At, s.What, err)
		}
	}
	return nil
}

// alert: the renewal writes its bad configuration, monitoring sees the
// 500, and PagerDuty's v3 webhook opens the incident in sitrep.
func (d *demo) alert() error {
	d.gateway.renewCertificate()
	d.tr.narrate("API gateway: the daily automatic renewal of the unexpired %s certificate left an invalid configuration behind", demoDomain)
	status, err := d.probeGateway()
	if err != nil {
		return err
	}
	if status != http.StatusInternalServerError {
		return fmt.Errorf("%w: the gateway answered %d after the bad renewal, want 500", errStep, status)
	}
	d.tr.narrate("monitoring: GET https://%s/v1/health → %d; PagerDuty triggers P1 incident #1 and pages the Platform on-call", d.gateway.Addr(), status)
	at := d.clock.Now()
	body := pdfake.Event(pdfake.EventTriggered, pdfake.IncidentData{
		ID: demoPDIncident, Number: 1, Title: demoAlertTitle, CreatedAt: at, Urgency: "high",
		Service:          pdfake.Ref{ID: demoPDService, Summary: "Platform API"},
		EscalationPolicy: pdfake.Ref{ID: demoPDPolicy, Summary: "Platform on-call"},
		Priority:         &pdfake.Ref{ID: "PPRIO1", Summary: "P1"},
		Assignees:        []pdfake.Ref{{ID: "PLENA", Summary: lena.Name}},
	}, at, pdfake.Client("Platform API monitoring"))
	if err := d.pagerDuty(body); err != nil {
		return err
	}
	if err := d.settle(); err != nil {
		return err
	}
	return d.findIncident()
}

// findIncident learns the incident the alert opened and its channel.
func (d *demo) findIncident() error {
	incs, err := d.db.Incidents(d.ctx, bot.IncidentFilter{All: true})
	if err != nil {
		return fmt.Errorf("demo: list incidents: %w", err)
	}
	for _, inc := range incs {
		if inc.Source == bot.PagerSource && inc.DedupKey == demoPDIncident && inc.ChannelID != "" {
			d.incident, d.channel, d.chanName = inc.ID, inc.ChannelID, inc.ChannelName
			if inc.Severity != bot.SEV1 {
				return fmt.Errorf("%w: the P1 page opened %s as %s, want SEV1", errStep, inc.Key(), inc.Severity)
			}
			return nil
		}
	}
	return fmt.Errorf("%w: the PagerDuty webhook opened no incident with a channel", errStep)
}

// takeIt: the lead engineer acknowledges and takes command from the
// incident card, names the comms lead; the first status-page post.
func (d *demo) takeIt() error {
	for _, a := range []string{bot.ActionAcknowledge, bot.ActionTakeCommand} {
		if err := d.click(lena, a, strconv.FormatInt(d.incident, 10)); err != nil {
			return err
		}
		if err := d.settle(); err != nil {
			return err
		}
	}
	if err := d.command(lena, "comms "+cam.mention(), "SEV1"); err != nil {
		return err
	}
	// The first update goes to customers too: the status page says
	// Investigating.
	if err := d.command(cam, "update --public "+seedInvestigating, "publishing it to"); err != nil {
		return err
	}
	return d.command(dev, "note --update Initial investigation: the API gateway reports degraded health and inbound traffic spiked far outside the nominal range", "Noted")
}

// scaleUp: the pool scale-up runbook, requested by one engineer and
// approved by the other.
func (d *demo) scaleUp() error {
	if err := d.command(dev, "runbooks", "pool-scale-up"); err != nil {
		return err
	}
	run, err := d.requestRun(dev, "pool-scale-up capacity=12", "waits for approval")
	if err != nil {
		return err
	}
	if err := d.at(d.clock.Now().Add(20 * time.Second)); err != nil {
		return err
	}
	if err := d.click(lena, runbooks.ActionApproveRun, strconv.FormatInt(run.ID, 10)); err != nil {
		return err
	}
	if _, err := d.expectRun(run.ID, bot.RunSucceeded); err != nil {
		return err
	}
	return d.command(dev, "note --update Scaled up the server pool and rebooted the existing servers: all came back online with positive health statuses, but the load balancer still reports failures", "Noted")
}

// probeStillFailing: the probe runbook needs no approval and shows the
// scale-up did not help.
func (d *demo) probeStillFailing() error {
	run, err := d.requestRun(dev, "platform-api-probe", "runs now")
	if err != nil {
		return err
	}
	done, err := d.expectRun(run.ID, bot.RunFailed)
	if err != nil {
		return err
	}
	return d.expectOutput(done, "500")
}

// audit: the full reboot, then the certificate audit: the certificate is
// valid and unexpired, and the gateway still answers 500 for the API.
func (d *demo) audit() error {
	if err := d.command(dev, "note --update Full reboot of all infrastructure servers; logging that had failed now gives more output", "Noted"); err != nil {
		return err
	}
	run, err := d.requestRun(dev, "gateway-cert-audit", "runs now")
	if err != nil {
		return err
	}
	done, err := d.expectRun(run.ID, bot.RunFailed)
	if err != nil {
		return err
	}
	if err := d.expectOutput(done, "certificate for "+demoDomain+" valid"); err != nil {
		return err
	}
	if err := d.expectOutput(done, "500"); err != nil {
		return err
	}
	return d.command(dev, "note --update The Platform API certificate is valid and not expired, but the API gateway (the reverse proxy) returns 500 for it", "Noted")
}

// reorder: the fix. The requester cannot approve their own request (two
// people); the second engineer approves; the gateway answers 200 again.
func (d *demo) reorder() error {
	run, err := d.requestRun(dev, "gateway-cert-reorder domain="+demoDomain, "waits for approval")
	if err != nil {
		return err
	}
	seen := d.ephemeralsFor(dev)
	if err := d.click(dev, runbooks.ActionApproveRun, strconv.FormatInt(run.ID, 10)); err != nil {
		return err
	}
	if err := d.waitEphemeral(dev, seen); err != nil {
		return err
	}
	if err := d.click(lena, runbooks.ActionApproveRun, strconv.FormatInt(run.ID, 10)); err != nil {
		return err
	}
	if _, err := d.expectRun(run.ID, bot.RunSucceeded); err != nil {
		return err
	}
	status, err := d.probeGateway()
	if err != nil {
		return err
	}
	if status != http.StatusOK {
		return fmt.Errorf("%w: the gateway answers %d after the re-order, want 200", errStep, status)
	}
	d.tr.narrate("monitoring: GET https://%s/v1/health → %d; orders flow to the retailers again", d.gateway.Addr(), status)
	if err := d.command(lena, "impact end 21:37", "Impact end"); err != nil {
		return err
	}
	return d.command(lena, "note --update All retailer online stores are back up and new orders are flowing to retailers", "Noted")
}

// resolve: the last status-page post, the resolution, the follow-ups, the
// draft and its export.
func (d *demo) resolve() error {
	// Customers read the resolution first; then sitrep has no open public
	// incident to ask about when the incident is resolved.
	if err := d.command(cam, "statuspage resolve "+seedResolved, "Resolving"); err != nil {
		return err
	}
	if err := d.command(lena, "resolve", "resolved"); err != nil {
		return err
	}
	if err := d.command(cam, "update "+seedResolved, "resolved"); err != nil {
		return err
	}
	for _, f := range []string{
		"Alert when the API gateway's configuration changes after a certificate renewal " + dev.mention(),
		"Procure a replacement for the reverse proxy's automatic SSL management " + lena.mention(),
	} {
		if err := d.command(lena, "followup "+f, "Follow-up"); err != nil {
			return err
		}
	}
	if err := d.command(lena, "postmortem", ""); err != nil {
		return err
	}
	if err := d.settle(); err != nil {
		return err
	}
	return d.command(lena, "export", "Exporting")
}

// requestRun types "/incident run <args>" and returns the run it created.
func (d *demo) requestRun(p demoPerson, args, want string) (bot.RunbookRun, error) {
	before, err := d.db.RunbookRuns(d.ctx, bot.RunbookRunFilter{IncidentID: d.incident})
	if err != nil {
		return bot.RunbookRun{}, fmt.Errorf("demo: read runbook runs: %w", err)
	}
	if err := d.command(p, "run "+args, want); err != nil {
		return bot.RunbookRun{}, err
	}
	after, err := d.db.RunbookRuns(d.ctx, bot.RunbookRunFilter{IncidentID: d.incident})
	if err != nil {
		return bot.RunbookRun{}, fmt.Errorf("demo: read runbook runs: %w", err)
	}
	if len(after) != len(before)+1 {
		return bot.RunbookRun{}, fmt.Errorf("%w: /incident run %s created no run", errStep, args)
	}
	var newest bot.RunbookRun
	for _, r := range after {
		if r.ID > newest.ID {
			newest = r
		}
	}
	return newest, d.settle()
}

// expectRun waits for the run to finish and checks how it ended.
func (d *demo) expectRun(id int64, want bot.RunState) (bot.RunbookRun, error) {
	if err := d.settle(); err != nil {
		return bot.RunbookRun{}, err
	}
	run, err := d.db.RunbookRun(d.ctx, id)
	if err != nil {
		return run, fmt.Errorf("demo: read %s: %w", bot.RunKey(id), err)
	}
	if run.State != want {
		return run, fmt.Errorf("%w: %s (%s) ended %s, want %s%s", errStep, run.Key(), run.Runbook, run.State, want, runReason(run))
	}
	return run, nil
}

// expectOutput checks that a finished run's results mention want.
func (d *demo) expectOutput(run bot.RunbookRun, want string) error {
	for _, s := range run.Steps {
		if strings.Contains(s.Summary, want) || strings.Contains(s.Output, want) {
			return nil
		}
	}
	return fmt.Errorf("%w: no step of %s (%s) reports %q", errStep, run.Key(), run.Runbook, want)
}

func runReason(run bot.RunbookRun) string {
	var parts []string
	for _, s := range run.Steps {
		if s.Summary != "" {
			parts = append(parts, s.Name+": "+s.Summary)
		}
	}
	if len(parts) == 0 {
		return ""
	}
	return " (" + strings.Join(parts, "; ") + ")"
}

// probeGateway is the monitoring's look at the Platform API through the
// gateway.
func (d *demo) probeGateway() (int, error) {
	c := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{
		TLSClientConfig: &tls.Config{RootCAs: d.gateway.roots, Time: d.clock.Now, ServerName: demoDomain}}}
	ctx, cancel := context.WithTimeout(d.ctx, 10*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "https://"+d.gateway.Addr()+"/v1/health", nil)
	if err != nil {
		return 0, err
	}
	resp, err := c.Do(req)
	if err != nil {
		return 0, fmt.Errorf("monitoring cannot reach the gateway: %w", err)
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp.StatusCode, nil
}

// exported reads the export back from GitHub: the pull request, and the
// postmortem file on its branch.
func (d *demo) exported() (demoResult, string, error) {
	exp, err := d.db.PostmortemExport(d.ctx, d.incident)
	if err != nil {
		return demoResult{}, "", fmt.Errorf("the postmortem was not exported: %w", err)
	}
	content, ok := d.gh.File(exp.Branch, exp.Path)
	if !ok || content == "" {
		return demoResult{}, "", fmt.Errorf("%w: GitHub has no %s on branch %s", errStep, exp.Path, exp.Branch)
	}
	for _, pr := range d.gh.PullRequests() {
		if pr.Head == exp.Branch && pr.Number == exp.PRNumber && pr.State == "open" {
			return demoResult{PullURL: exp.PRURL, Pull: pr, PullPath: exp.Path}, content, nil
		}
	}
	return demoResult{}, "", fmt.Errorf("%w: GitHub has no open pull request #%d from %s", errStep, exp.PRNumber, exp.Branch)
}

// pagerDutyWrittenBack checks what sitrep wrote back to PagerDuty: the
// acknowledgement and the resolution people made in the channel, and
// their notes and status updates.
func (d *demo) pagerDutyWrittenBack() (string, error) {
	inc, ok := d.pd.Incident(demoPDIncident)
	if !ok {
		return "", fmt.Errorf("%w: PagerDuty lost incident %s", errStep, demoPDIncident)
	}
	var moves []string
	for _, t := range inc.Transitions {
		moves = append(moves, fmt.Sprintf("%s at %s", t.To, t.At.In(d.tr.loc).Format("15:04 MST")))
	}
	if inc.Status != pdfake.StatusResolved || len(inc.Transitions) != 2 || inc.Transitions[0].To != pdfake.StatusAcknowledged {
		return "", fmt.Errorf("%w: PagerDuty incident %s is %s after %v, want it acknowledged and then resolved by sitrep's write-back",
			errStep, demoPDIncident, inc.Status, moves)
	}
	return fmt.Sprintf("PagerDuty incident #%d, written back by sitrep: %s; %d notes from the channel.",
		inc.Number, strings.Join(moves, ", "), len(inc.Notes)), nil
}
