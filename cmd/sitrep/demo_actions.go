package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/sitrep-io/sitrep/bot"
	"github.com/sitrep-io/sitrep/internal/pdfake"
	"github.com/sitrep-io/sitrep/internal/slackfake"
)

// What the replay does to the server, each through its public HTTP
// endpoint with the request signed as the vendor signs it, and how it
// waits for the work that causes.

// at moves the replay's clock to t. Scheduled outbox entries that fall due
// on the way (reminders, approval expiries) are delivered at their own
// times first, as they would have been that night.
func (d *demo) at(t time.Time) error {
	for range 1000 { // a bound, in case something keeps rescheduling itself
		if err := d.settle(); err != nil {
			return err
		}
		next, ok, err := d.nextScheduled()
		if err != nil {
			return err
		}
		if !ok || !next.Before(t) {
			break
		}
		d.clock.Set(next)
		d.wake()
	}
	d.clock.Set(t)
	d.wake()
	return d.settle()
}

// nextScheduled is the earliest time a pending outbox entry is due after
// now.
func (d *demo) nextScheduled() (time.Time, bool, error) {
	pending, err := d.db.Deliveries(d.ctx, bot.DeliveryPending)
	if err != nil {
		return time.Time{}, false, fmt.Errorf("demo: read the outbox: %w", err)
	}
	now := d.clock.Now()
	var next time.Time
	for _, del := range pending {
		if del.NextAttemptAt.After(now) && (next.IsZero() || del.NextAttemptAt.Before(next)) {
			next = del.NextAttemptAt
		}
	}
	return next, !next.IsZero(), nil
}

// settle waits until sitrep has done everything the last step caused: no
// outbox entry due or in flight, no runbook run approved or running. Then
// it prints what reached Slack. An entry sitrep gave up on fails the step.
func (d *demo) settle() error {
	deadline := time.Now().Add(demoStepTimeout)
	// Poll often at first (most work is done in milliseconds), then back
	// off: each look is a read of the server's database, which competes with
	// the server for the CPU on a busy machine.
	poll := time.Millisecond
	for {
		busy, err := d.busy()
		if err != nil {
			return err
		}
		if busy == "" {
			break
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("sitrep did not finish within %s: %s", demoStepTimeout, busy)
		}
		select {
		case <-d.ctx.Done():
			return d.ctx.Err()
		case <-time.After(poll):
		}
		poll = min(2*poll, 50*time.Millisecond)
	}
	d.tr.flush()
	return d.failedDeliveries()
}

// busy says what sitrep is still doing ("" when nothing).
func (d *demo) busy() (string, error) {
	dels, err := d.db.Deliveries(d.ctx, bot.DeliveryPending, bot.DeliverySending)
	if err != nil {
		return "", fmt.Errorf("demo: read the outbox: %w", err)
	}
	now := d.clock.Now()
	var ops []string
	for _, del := range dels {
		if del.State == bot.DeliverySending || !del.NextAttemptAt.After(now) {
			ops = append(ops, del.Op)
		}
	}
	if len(ops) > 0 {
		return fmt.Sprintf("%d outbox entries still due (%s)", len(ops), strings.Join(ops, ", ")), nil
	}
	runs, err := d.db.RunbookRuns(d.ctx, bot.RunbookRunFilter{States: []bot.RunState{bot.RunApproved, bot.RunRunning}})
	if err != nil {
		return "", fmt.Errorf("demo: read the runbook runs: %w", err)
	}
	if len(runs) > 0 {
		return fmt.Sprintf("%s (%s) is still %s", runs[0].Key(), runs[0].Runbook, runs[0].State), nil
	}
	return "", nil
}

// failedDeliveries fails the replay when sitrep gave up on an outbox entry:
// with the stand-ins, nothing should be refused.
func (d *demo) failedDeliveries() error {
	failed, err := d.db.Deliveries(d.ctx, bot.DeliveryFailed)
	if err != nil {
		return fmt.Errorf("demo: read the outbox: %w", err)
	}
	if len(failed) > 0 {
		return fmt.Errorf("sitrep gave up on outbox entry %d (%s): %s", failed[0].ID, failed[0].Op, failed[0].LastError)
	}
	return nil
}

// pagerDuty delivers a PagerDuty v3 webhook, signed with the subscription
// secret, as PagerDuty does.
func (d *demo) pagerDuty(body []byte) error {
	req := pdfake.WebhookRequest(d.base+"/webhooks/pagerduty", body, demoPDSecret)
	resp, err := d.client.Do(req.WithContext(d.ctx))
	if err != nil {
		return fmt.Errorf("PagerDuty webhook: %w", err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
	if resp.StatusCode/100 != 2 {
		return fmt.Errorf("PagerDuty webhook answered %d: %s", resp.StatusCode, raw)
	}
	return nil
}

// command types "/incident <text>" as p in the incident channel, signed as
// Slack signs it, checks the answer only p sees contains want, and waits
// for the work the command caused.
func (d *demo) command(p demoPerson, text, want string) error {
	answer, err := d.ask(p, text)
	if err != nil {
		return err
	}
	if !strings.Contains(answer, want) {
		return fmt.Errorf("/incident %s (by %s): answered %q, want it to say %q", text, p.Name, answer, want)
	}
	return nil
}

// draftForm types "/incident update" without text as p and shows the
// form sitrep opens, prefilled with the draft from the timeline.
func (d *demo) draftForm(p demoPerson) error {
	before := len(d.slack.Views())
	if _, err := d.ask(p, "update"); err != nil {
		return err
	}
	if !d.slack.WaitUntil(demoStepTimeout, func() bool { return len(d.slack.Views()) > before }) {
		return fmt.Errorf("%w: /incident update without text opened no form", errStep)
	}
	views := d.slack.Views()
	var form struct {
		Blocks []struct {
			BlockID string `json:"block_id"`
			Element struct {
				InitialValue string `json:"initial_value"`
			} `json:"element"`
		} `json:"blocks"`
	}
	if err := json.Unmarshal(views[len(views)-1].Raw, &form); err != nil {
		return fmt.Errorf("demo: read the update form: %w", err)
	}
	for _, b := range form.Blocks {
		if b.BlockID == "text" {
			d.tr.say(strings.Repeat(" ", len(d.tr.channelName(d.channel))), "↳ only "+p.Name+" sees the update form, drafted", b.Element.InitialValue)
			return nil
		}
	}
	return fmt.Errorf("%w: the update form has no text field", errStep)
}

// ask types "/incident <text>" as p, waits for what it caused, and returns
// the answer.
func (d *demo) ask(p demoPerson, text string) (string, error) {
	cmd := slackfake.SlashCommand{TeamID: slackfake.TeamID, TeamDomain: slackfake.TeamDom, ChannelID: d.channel,
		ChannelName: d.chanName, UserID: p.ID, UserName: p.Handle, Command: "/incident", Text: text,
		ResponseURL: d.slack.ResponseURL(d.channel, p.ID), TriggerID: fmt.Sprintf("demo.%d", time.Now().UnixNano()),
		APIAppID: slackfake.AppID}
	// Slack signs with the time it sends; sitrep checks it against the
	// wall clock, not the replay's.
	req := slackfake.SlashCommandRequest(d.base+"/slack/commands", demoSlackSecret, time.Now(), cmd)
	raw, err := d.slackRequest(req)
	if err != nil {
		return "", fmt.Errorf("/incident %s: %w", text, err)
	}
	var answer struct {
		Text string `json:"text"`
	}
	if len(raw) > 0 {
		if err := json.Unmarshal(raw, &answer); err != nil {
			return "", fmt.Errorf("/incident %s: the answer is not JSON: %s", text, raw)
		}
	}
	d.tr.typed(d.channel, p, "/incident "+text, answer.Text)
	return answer.Text, d.settle()
}

// click presses the button actionID, as p, on the newest message of the
// incident channel that has one (with the given value, when not ""), signs
// the interaction as Slack does, and waits for the work the click caused.
func (d *demo) click(p demoPerson, actionID, value string) error {
	msg, button, err := d.findButton(actionID, value)
	if err != nil {
		return err
	}
	payload := slackfake.BlockActions(slackfake.ButtonClick{
		TeamID: slackfake.TeamID, TeamDomain: slackfake.TeamDom, UserID: p.ID, UserName: p.Handle, APIAppID: slackfake.AppID,
		ChannelID: msg.Channel, ChannelName: d.chanName, MessageTS: msg.TS, MessageText: msg.Text, MessageBlocks: msg.Blocks,
		ActionID: button.ActionID, BlockID: button.BlockID, Value: button.Value, ButtonText: button.Label,
		ResponseURL: d.slack.ResponseURL(msg.Channel, p.ID), // on loopback, as everything the demo reaches
	}, time.Now())
	req := slackfake.InteractionRequest(d.base+"/slack/interactions", demoSlackSecret, time.Now(), payload)
	d.tr.typed(msg.Channel, p, fmt.Sprintf("clicks [%s] on %q", button.Label, firstLine(d.tr.plain(msg.Text))), "")
	if _, err := d.slackRequest(req); err != nil {
		return fmt.Errorf("click %s: %w", button.Label, err)
	}
	return d.settle()
}

// slackRequest sends a signed Slack request and returns the body of its
// 200 answer.
func (d *demo) slackRequest(req *http.Request) ([]byte, error) {
	resp, err := d.client.Do(req.WithContext(d.ctx))
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return nil, err
	}
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("sitrep answered %d: %s", resp.StatusCode, raw)
	}
	return raw, nil
}

// demoButton is a button of a message, as Slack renders it.
type demoButton struct {
	ActionID, BlockID, Value, Label string
}

// findButton finds the newest message in the incident channel carrying the
// button.
func (d *demo) findButton(actionID, value string) (slackfake.Message, demoButton, error) {
	msgs := d.slack.Messages(d.channel)
	for _, m := range slices.Backward(msgs) {
		for _, b := range messageButtons(m.Blocks) {
			if b.ActionID == actionID && (value == "" || b.Value == value) {
				return m, b, nil
			}
		}
	}
	return slackfake.Message{}, demoButton{}, fmt.Errorf("no message in #%s has a %q button (value %q)", d.chanName, actionID, value)
}

// messageButtons lists the buttons of a message's blocks.
func messageButtons(blocks json.RawMessage) []demoButton {
	bs, err := slackfake.ActionsBlocks(blocks)
	if err != nil {
		return nil
	}
	var out []demoButton
	for _, b := range bs {
		for _, e := range b.Elements {
			if e.Type == "button" {
				out = append(out, demoButton{ActionID: e.ActionID, BlockID: b.BlockID, Value: e.Value, Label: e.Text})
			}
		}
	}
	return out
}

// waitEphemeral waits until p has been told something only they see in
// the incident channel beyond the n answers they had (a refused click is
// answered after its acknowledgement), and flushes the transcript.
func (d *demo) waitEphemeral(p demoPerson, n int) error {
	ok := d.slack.WaitUntil(demoStepTimeout, func() bool { return d.ephemeralsFor(p) > n })
	if !ok {
		return fmt.Errorf("%s was not told why the click was refused", p.Name)
	}
	d.tr.flush()
	return nil
}

func (d *demo) ephemeralsFor(p demoPerson) int {
	n := 0
	for _, e := range d.slack.Ephemerals(d.channel) {
		if e.User == p.ID {
			n++
		}
	}
	return n
}

// errStep marks a step whose outcome was not what the seed's story needs.
var errStep = errors.New("demo step")
