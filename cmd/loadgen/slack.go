package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/sitrep-io/sitrep/bot"
	"github.com/sitrep-io/sitrep/internal/slackfake"
	"github.com/sitrep-io/sitrep/slackchat"
)

// declarer is the person who declares an incident during the storm.
const declarer = "ULOADGEN"

// slackChat is the Slack side of -chat slack: the fake Web API on
// 127.0.0.1, enforcing Slack's tiers (429 + Retry-After beyond them) on the
// wall clock, and the real adapter (slack-go, sitrep's pacing) as `sitrep
// serve` builds it, pointed at it.
type slackChat struct {
	fake      *slackfake.Server
	client    *slackchat.Client
	broadcast string
}

func newSlackChat() *slackChat {
	fake := slackfake.New(nil, slackfake.WithTiers(time.Now, slackfake.SlackTiers))
	fake.AddUser(slackfake.User{ID: declarer, Name: "loadgen"})
	broadcast := fake.AddChannel(slackfake.Channel{Name: "incidents"})
	// As cmd/sitrep/serve_slack.go's newChat: the wall clock, no test hooks.
	client := slackchat.New(slackchat.Options{Token: slackfake.BotToken, APIURL: fake.URL()})
	return &slackChat{fake: fake, client: client, broadcast: broadcast}
}

// followStorm runs after the storm's intake, while its channels queue
// behind conversations.create's Tier 2: a person declares a SEV1, and it
// reports how long its channel, card and invitation take to reach Slack,
// then how long the storm's channels and cards took (from the storm's
// start), and how many calls Slack answered 429.
func (s *slackChat) followStorm(ctx context.Context, out io.Writer, db bot.Store, svc *bot.Service, stormStart time.Time, wait time.Duration) error {
	ctx, cancel := context.WithTimeout(ctx, wait)
	defer cancel()
	queued := 0
	incs, err := db.Incidents(ctx, bot.IncidentFilter{All: true})
	if err != nil {
		return err
	}
	for _, inc := range incs {
		if inc.ChannelID == "" {
			queued++
		}
	}
	declaredAt := time.Now()
	inc, err := svc.Declare(ctx, bot.DeclareRequest{Actor: declarer, Title: "Checkout down (declared during the storm)", Severity: bot.SEV1})
	if err != nil {
		return fmt.Errorf("declare during the storm: %w", err)
	}
	var channelAt, cardAt, inviteAt time.Time
	err = poll(ctx, func() (bool, error) {
		cur, err := db.Incident(ctx, inc.ID)
		if err != nil {
			return false, err
		}
		now := time.Now()
		if channelAt.IsZero() && cur.ChannelID != "" {
			channelAt = now
		}
		if cardAt.IsZero() && cur.CardTS != "" {
			cardAt = now
		}
		if inviteAt.IsZero() && cur.ChannelID != "" {
			for _, c := range s.fake.CallsTo("conversations.invite") {
				if c.Status == 200 && c.Params.Get("channel") == cur.ChannelID {
					inviteAt = now
				}
			}
		}
		return !channelAt.IsZero() && !cardAt.IsZero() && !inviteAt.IsZero(), nil
	})
	if err != nil {
		return fmt.Errorf("declared incident's channel, card and invitation: %w", err)
	}
	fmt.Fprintf(out, "slack: declared SEV1 while %d storm channels were queued: channel after %s (goal ≤ 10s: %s), card after %s, invitation after %s\n",
		queued, channelAt.Sub(declaredAt).Round(time.Millisecond), met(channelAt.Sub(declaredAt) <= 10*time.Second),
		cardAt.Sub(declaredAt).Round(time.Millisecond), inviteAt.Sub(declaredAt).Round(time.Millisecond))

	var lastChannel, lastCard time.Time
	err = poll(ctx, func() (bool, error) {
		incs, err := db.Incidents(ctx, bot.IncidentFilter{All: true})
		if err != nil {
			return false, err
		}
		done := true
		now := time.Now()
		for _, i := range incs {
			if i.ID == inc.ID {
				continue
			}
			if i.ChannelID == "" || i.CardTS == "" {
				done = false
			}
		}
		if done {
			lastChannel, lastCard = now, now
		}
		return done, nil
	})
	if err != nil {
		return fmt.Errorf("storm channels and cards: %w", err)
	}
	// The fake's record says when each storm channel and card arrived.
	lastChannel, lastCard = time.Time{}, time.Time{}
	for _, c := range s.fake.CallsTo("conversations.create") {
		if c.Status == 200 && c.Time.After(lastChannel) {
			lastChannel = c.Time
		}
	}
	limited := 0
	for _, c := range s.fake.Calls() {
		if c.Status == 429 {
			limited++
		}
		if c.Method == "chat.postMessage" && c.Status == 200 && c.Time.After(lastCard) {
			lastCard = c.Time
		}
	}
	fmt.Fprintf(out, "slack: storm's %d channels all created %s after the storm began, cards (and the other posts) %s; %d calls answered 429\n",
		len(incs), lastChannel.Sub(stormStart).Round(time.Millisecond), lastCard.Sub(stormStart).Round(time.Millisecond), limited)
	return nil
}

// poll calls check every 20 ms until it reports done, fails, or ctx ends.
func poll(ctx context.Context, check func() (bool, error)) error {
	t := time.NewTicker(20 * time.Millisecond)
	defer t.Stop()
	for {
		done, err := check()
		if err != nil || done {
			return err
		}
		select {
		case <-ctx.Done():
			return errors.New("not delivered in time (-slack-wait)")
		case <-t.C:
		}
	}
}
