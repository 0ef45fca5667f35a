package slackchat_test

import (
	"testing"

	"github.com/sitrep-io/sitrep/bot"
	"github.com/sitrep-io/sitrep/internal/slackfake"
)

func TestIsChannelMember(t *testing.T) {
	srv := slackfake.New(t)
	c := newClient(t, srv, newClock())
	ch := srv.AddChannel(slackfake.Channel{Name: "inc-7-secret", IsPrivate: true, Members: []string{"U1", "U2"}})
	for user, want := range map[string]bool{"U1": true, "U2": true, "U3": false} {
		got, err := c.IsChannelMember(t.Context(), ch, user)
		if err != nil || got != want {
			t.Errorf("IsChannelMember(%s) = %v, %v; want %v", user, got, err, want)
		}
	}
	if _, err := c.IsChannelMember(t.Context(), "CNOPE", "U1"); err == nil || bot.ErrorCode(err) == "" {
		t.Errorf("unknown channel: %v, want an error (never a yes or a no)", err)
	}
}
