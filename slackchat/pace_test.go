package slackchat_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"testing"
	"time"

	"github.com/sitrep-io/sitrep/bot"
	"github.com/sitrep-io/sitrep/internal/slackfake"
	"github.com/sitrep-io/sitrep/slackchat"
)

// stampedClient is a client whose requests are stamped with the fake time.
func stampedClient(t *testing.T, srv *slackfake.Server, clock *fakeClock) (*slackchat.Client, *stampingTransport) {
	t.Helper()
	st := &stampingTransport{base: srv.Client().Transport, clock: clock, at: map[string][]time.Time{}}
	c := slackchat.New(slackchat.Options{Token: slackfake.BotToken, APIURL: srv.URL(),
		HTTPClient: &http.Client{Transport: st}, Now: clock.Now, Sleep: clock.Sleep})
	return c, st
}

// TestPacePostsPerChannel: 100 posts to one channel go out at about one a
// second (after a small burst), measured on the fake clock; another channel
// is not held up by the first.
func TestPacePostsPerChannel(t *testing.T) {
	srv := slackfake.New(t)
	clock := newClock()
	c, st := stampedClient(t, srv, clock)
	busy := srv.AddChannel(slackfake.Channel{Name: "inc-1-busy"})
	quiet := srv.AddChannel(slackfake.Channel{Name: "inc-2-quiet"})
	for i := range 100 {
		if _, err := c.Post(t.Context(), busy, bot.Message{Text: fmt.Sprint(i)}); err != nil {
			t.Fatal(err)
		}
	}
	at := st.times("chat.postMessage")
	if len(at) != 100 {
		t.Fatalf("%d posts, want 100", len(at))
	}
	span := at[99].Sub(at[0])
	if span < 97*time.Second || span > 100*time.Second {
		t.Errorf("100 posts took %s of fake time, want about 98s (one a second after a burst of 2)", span)
	}
	for i := range at {
		j := i
		for j < len(at) && at[j].Sub(at[i]) < 10*time.Second {
			j++
		}
		if n := j - i; n > 12 {
			t.Fatalf("%d posts within 10s from post %d, want at most 12", n, i)
		}
	}
	before := clock.Now()
	if _, err := c.Post(t.Context(), quiet, bot.Message{Text: "other channel"}); err != nil {
		t.Fatal(err)
	}
	if waited := clock.Now().Sub(before); waited != 0 {
		t.Errorf("a post to another channel waited %s, want no wait", waited)
	}
	t.Logf("100 posts to one channel spread over %s of fake time", span)
}

// TestPaceMethodTier: conversations.create (Tier 2) is held to about 20 a
// minute.
func TestPaceMethodTier(t *testing.T) {
	srv := slackfake.New(t)
	clock := newClock()
	c, st := stampedClient(t, srv, clock)
	for i := range 30 {
		if _, err := c.CreateChannel(t.Context(), bot.ChannelSpec{Name: fmt.Sprintf("inc-%d", i+1)}); err != nil {
			t.Fatal(err)
		}
	}
	if n := mostWithin(st.times("conversations.create"), time.Minute); n > 23 {
		t.Fatalf("%d conversations.create within a minute, want at most 23 (20/min plus a burst of 3)", n)
	}
}

// mostWithin is the largest number of the times at (in order) that fall
// within one window.
func mostWithin(at []time.Time, window time.Duration) int {
	most := 0
	for i := range at {
		j := i
		for j < len(at) && at[j].Sub(at[i]) < window {
			j++
		}
		most = max(most, j-i)
	}
	return most
}

// TestPaceGivesUpBeforeDeadline: when the wait for a slot would outlast the
// attempt's deadline, the call is not made and the error is temporary with
// the wait as Retry-After, so the outbox retries it later.
func TestPaceGivesUpBeforeDeadline(t *testing.T) {
	srv := slackfake.New(t)
	c := newClient(t, srv, newClock())
	ch := srv.AddChannel(slackfake.Channel{Name: "inc-1-x"})
	// Slack asks for a minute's pause; the attempt has 5 seconds.
	srv.FailNext("chat.postMessage", slackfake.RateLimited(60))
	if _, err := c.Post(t.Context(), ch, bot.Message{Text: "limited"}); err == nil {
		t.Fatal("want the 429")
	}
	ctx, cancel := context.WithTimeout(t.Context(), 5*time.Second)
	defer cancel()
	_, err := c.Post(ctx, ch, bot.Message{Text: "x"})
	temp, after := bot.IsTemporary(err)
	if !temp || after < 55*time.Second || after > 60*time.Second {
		t.Fatalf("%v (retry after %s), want a temporary error asking for about 60s", err, after)
	}
	if n := len(srv.CallsTo("chat.postMessage")); n != 1 {
		t.Errorf("%d calls reached Slack, want 1 (the held-back one must not)", n)
	}
	// A wait that a canceled context cuts short is temporary too.
	canceled, cancel2 := context.WithCancel(t.Context())
	cancel2()
	_, err = c.Post(canceled, ch, bot.Message{Text: "y"})
	if temp, _ := bot.IsTemporary(err); !temp || !errors.Is(err, context.Canceled) {
		t.Errorf("canceled wait: %v, want temporary wrapping context.Canceled", err)
	}
}

// BenchmarkPacedPosts measures the adapter's overhead per post (pacing
// bookkeeping plus a real slack-go call to the fake), with pacing waits on
// a fake clock.
func BenchmarkPacedPosts(b *testing.B) {
	srv := slackfake.New(b)
	clock := newClock()
	c := slackchat.New(slackchat.Options{Token: slackfake.BotToken, APIURL: srv.URL(), HTTPClient: srv.Client(),
		Now: clock.Now, Sleep: clock.Sleep})
	ch := srv.AddChannel(slackfake.Channel{Name: "inc-1-bench"})
	for b.Loop() {
		if _, err := c.Post(b.Context(), ch, bot.Message{Text: "x"}); err != nil {
			b.Fatal(err)
		}
	}
	slept, _ := clock.Slept()
	b.ReportMetric(slept.Seconds()/float64(b.N), "fake-s/post")
}

// TestPaceTellsOnPaced: a call the pacing holds back for later is reported
// to OnPaced by its method, once; a call that goes out, or a wait cut short
// by a canceled context, is not.
func TestPaceTellsOnPaced(t *testing.T) {
	srv := slackfake.New(t)
	clock := newClock()
	var paced []string
	c := slackchat.New(slackchat.Options{Token: slackfake.BotToken, APIURL: srv.URL(), HTTPClient: srv.Client(),
		Now: clock.Now, Sleep: clock.Sleep, OnPaced: func(method string) { paced = append(paced, method) }})
	ch := srv.AddChannel(slackfake.Channel{Name: "inc-1-x"})
	srv.FailNext("chat.postMessage", slackfake.RateLimited(60))
	if _, err := c.Post(t.Context(), ch, bot.Message{Text: "limited"}); err == nil {
		t.Fatal("want the 429")
	}
	if len(paced) != 0 {
		t.Fatalf("OnPaced told %v about Slack's own 429, want nothing (the HTTP client sees those)", paced)
	}
	ctx, cancel := context.WithTimeout(t.Context(), 5*time.Second)
	defer cancel()
	if _, err := c.Post(ctx, ch, bot.Message{Text: "x"}); err == nil {
		t.Fatal("want the call held back")
	}
	canceled, cancel2 := context.WithCancel(t.Context())
	cancel2()
	_, _ = c.Post(canceled, ch, bot.Message{Text: "y"})
	if want := []string{"chat.postMessage"}; !slices.Equal(paced, want) {
		t.Errorf("OnPaced told %v, want %v", paced, want)
	}
}

// TestPaceGivesSlotToHigherPriority: an outbox entry waiting for a Tier 2
// slot gives it up to a higher-priority entry that asks later (a person's
// incident during an alert storm): the later one gets the slot, the waiting
// one returns a rate-limit error for the outbox to defer, not a failure.
func TestPaceGivesSlotToHigherPriority(t *testing.T) {
	srv := slackfake.New(t)
	clock := newClock()
	sleeping := make(chan struct{})
	release := make(chan struct{})
	c := slackchat.New(slackchat.Options{Token: slackfake.BotToken, APIURL: srv.URL(), HTTPClient: srv.Client(),
		Now: clock.Now, Sleep: func(ctx context.Context, d time.Duration) error {
			sleeping <- struct{}{}
			select {
			case <-ctx.Done():
				return ctx.Err()
			case <-release:
				clock.Advance(d)
				return nil
			}
		}})
	ctx := t.Context()
	for i := range 3 { // the burst
		if _, err := c.CreateChannel(ctx, bot.ChannelSpec{Name: fmt.Sprintf("inc-%d-burst", i)}); err != nil {
			t.Fatal(err)
		}
	}
	storm, person := make(chan error, 1), make(chan error, 1)
	go func() {
		_, err := c.CreateChannel(bot.WithDeliveryPriority(ctx, bot.DeliveryPriority(false, bot.SEV1)), bot.ChannelSpec{Name: "inc-10-storm"})
		storm <- err
	}()
	<-sleeping // the storm's create holds the next slot
	go func() {
		_, err := c.CreateChannel(bot.WithDeliveryPriority(ctx, bot.DeliveryPriority(true, bot.SEV3)), bot.ChannelSpec{Name: "inc-11-declared"})
		person <- err
	}()
	select {
	case err := <-storm:
		ok, after := bot.IsTemporary(err)
		var temp *bot.TemporaryError
		if !ok || after <= 0 || !errors.As(err, &temp) || !temp.RateLimited {
			t.Fatalf("the storm's create returned %v, want a rate-limit error with a wait", err)
		}
	case <-time.After(10 * time.Second):
		close(release)
		t.Fatal("the storm's create kept its slot when a person's create asked for one")
	}
	<-sleeping // the person's create waits for the slot the storm's held
	release <- struct{}{}
	if err := <-person; err != nil {
		t.Fatalf("the person's create: %v", err)
	}
	if _, ok := srv.Channel("inc-11-declared"); !ok {
		t.Error("the person's channel was not created")
	}
	if _, ok := srv.Channel("inc-10-storm"); ok {
		t.Error("the storm's channel was created though it gave up its slot")
	}
}

// TestPaceDirectCallKeepsSlot: a call made outside the outbox (someone is
// waiting on the HTTP request for it) is never asked to give its slot up.
func TestPaceDirectCallKeepsSlot(t *testing.T) {
	srv := slackfake.New(t)
	clock := newClock()
	sleeping := make(chan struct{}, 2)
	release := make(chan struct{}, 2)
	c := slackchat.New(slackchat.Options{Token: slackfake.BotToken, APIURL: srv.URL(), HTTPClient: srv.Client(),
		Now: clock.Now, Sleep: func(ctx context.Context, d time.Duration) error {
			sleeping <- struct{}{}
			select {
			case <-ctx.Done():
				return ctx.Err()
			case <-release:
				return nil
			}
		}})
	ctx := t.Context()
	for i := range 3 { // the burst
		if _, err := c.CreateChannel(ctx, bot.ChannelSpec{Name: fmt.Sprintf("inc-%d-burst", i)}); err != nil {
			t.Fatal(err)
		}
	}
	direct, queued := make(chan error, 1), make(chan error, 1)
	go func() {
		_, err := c.CreateChannel(ctx, bot.ChannelSpec{Name: "inc-10-direct"})
		direct <- err
	}()
	<-sleeping
	go func() {
		_, err := c.CreateChannel(bot.WithDeliveryPriority(ctx, bot.DeliveryPriority(true, bot.SEV1)), bot.ChannelSpec{Name: "inc-11-queued"})
		queued <- err
	}()
	select {
	case <-sleeping: // the outbox call waits for a later slot
	case err := <-direct:
		t.Fatalf("the direct call gave up its slot to an outbox entry: %v", err)
	}
	release <- struct{}{}
	release <- struct{}{}
	if err := <-direct; err != nil {
		t.Errorf("direct call: %v", err)
	}
	if err := <-queued; err != nil {
		t.Errorf("outbox call: %v", err)
	}
}

// TestPaceDividedAmongReplicas: with Replicas 3 each client spends a third
// of conversations.create's budget (Tier 2, 20 a minute): at most 7 a
// minute, so that three replicas together stay within Slack's limit.
func TestPaceDividedAmongReplicas(t *testing.T) {
	srv := slackfake.New(t)
	clock := newClock()
	st := &stampingTransport{base: srv.Client().Transport, clock: clock, at: map[string][]time.Time{}}
	c := slackchat.New(slackchat.Options{Token: slackfake.BotToken, APIURL: srv.URL(), Replicas: 3,
		HTTPClient: &http.Client{Transport: st}, Now: clock.Now, Sleep: clock.Sleep})
	for i := range 15 {
		if _, err := c.CreateChannel(t.Context(), bot.ChannelSpec{Name: fmt.Sprintf("inc-%d", i+1)}); err != nil {
			t.Fatal(err)
		}
	}
	at := st.times("conversations.create")
	if len(at) != 15 {
		t.Fatalf("%d calls, want 15", len(at))
	}
	if n := mostWithin(at, time.Minute); n > 7 {
		t.Fatalf("%d conversations.create within a minute, want at most 7 (a third of 20/min, a burst of 1)", n)
	}
}
