package slackchat_test

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/sitrep-io/sitrep/bot"
	"github.com/sitrep-io/sitrep/internal/slackfake"
)

func wantCode(t *testing.T, err error, want string) {
	t.Helper()
	if got := bot.ErrorCode(err); got != want {
		t.Fatalf("error %v: code %q, want %q", err, got, want)
	}
	if temp, _ := bot.IsTemporary(err); temp {
		t.Fatalf("error %v is temporary; want a permanent %s", err, want)
	}
}

func TestCreateChannel(t *testing.T) {
	srv := slackfake.New(t)
	c := newClient(t, srv, newClock())
	t.Run("Private", func(t *testing.T) {
		ref, err := c.CreateChannel(t.Context(), bot.ChannelSpec{Name: "inc-1-db", Private: true})
		if err != nil {
			t.Fatal(err)
		}
		ch, ok := srv.ChannelByID(ref.ID)
		if !ok || ch.Name != "inc-1-db" || ref.Name != "inc-1-db" || !ch.IsPrivate {
			t.Errorf("got ref %+v, channel %+v; want private #inc-1-db", ref, ch)
		}
	})
	t.Run("ErrNameTaken", func(t *testing.T) {
		_, err := c.CreateChannel(t.Context(), bot.ChannelSpec{Name: "inc-1-db"})
		wantCode(t, err, bot.ECONFLICT)
	})
	t.Run("ErrInvalidName", func(t *testing.T) {
		_, err := c.CreateChannel(t.Context(), bot.ChannelSpec{Name: "Has Spaces"})
		if err == nil || bot.ErrorCode(err) == bot.ECONFLICT {
			t.Fatalf("got %v, want a permanent error that is not a conflict", err)
		}
	})
}

func TestPostAndFindTagged(t *testing.T) {
	srv := slackfake.New(t)
	c := newClient(t, srv, newClock())
	ch := srv.AddChannel(slackfake.Channel{Name: "inc-3-api"})
	msg := bot.Card(cardIncident())
	msg.Tag = "sitrep-delivery-42"
	ref, err := c.Post(t.Context(), ch, msg)
	if err != nil {
		t.Fatal(err)
	}
	got, ok := srv.Message(ch, ref.TS)
	if !ok {
		t.Fatalf("message %s not in the fake", ref.TS)
	}
	if got.Text != msg.Text {
		t.Errorf("fallback text %q, want %q", got.Text, msg.Text)
	}
	for _, want := range []string{`"block_id":"sitrep-actions.`, `"action_id":"resolve"`, `"confirm"`, `"static_select"`} {
		if !strings.Contains(string(got.Blocks), want) {
			t.Errorf("blocks lack %s: %s", want, got.Blocks)
		}
	}
	var meta struct {
		EventType    string            `json:"event_type"`
		EventPayload map[string]string `json:"event_payload"`
	}
	if err := json.Unmarshal(got.Metadata, &meta); err != nil || meta.EventType != "sitrep_delivery" || meta.EventPayload["tag"] != msg.Tag {
		t.Errorf("metadata %s (%v), want the delivery tag", got.Metadata, err)
	}
	// Other messages around it do not hide it.
	for range 5 {
		if _, err := c.Post(t.Context(), ch, bot.Message{Text: "noise", Tag: "sitrep-delivery-7"}); err != nil {
			t.Fatal(err)
		}
	}
	found, ok, err := c.FindTagged(t.Context(), ch, msg.Tag)
	if err != nil || !ok || found != ref {
		t.Errorf("FindTagged = %+v, %v, %v; want %+v", found, ok, err, ref)
	}
	_, ok, err = c.FindTagged(t.Context(), ch, "sitrep-delivery-999")
	if err != nil || ok {
		t.Errorf("FindTagged(unknown tag) = %v, %v; want not found", ok, err)
	}
	if calls := srv.CallsTo("conversations.history"); len(calls) == 0 || calls[0].Param("include_all_metadata") == "" {
		t.Errorf("history must ask for metadata: %+v", calls)
	}
}

func TestUpdate(t *testing.T) {
	srv := slackfake.New(t)
	c := newClient(t, srv, newClock())
	ch := srv.AddChannel(slackfake.Channel{Name: "inc-3-api"})
	inc := cardIncident()
	ref, err := c.Post(t.Context(), ch, bot.Card(inc))
	if err != nil {
		t.Fatal(err)
	}
	inc.Status = bot.StatusIdentified
	if err := c.Update(t.Context(), ref, bot.Card(inc)); err != nil {
		t.Fatal(err)
	}
	got, _ := srv.Message(ch, ref.TS)
	if !got.Updated() || !strings.Contains(got.Text, "identified") || !strings.Contains(string(got.Blocks), `identified`) {
		t.Errorf("card not redrawn: text %q blocks %s", got.Text, got.Blocks)
	}
	err = c.Update(t.Context(), bot.MessageRef{ChannelID: ch, TS: "1.000000"}, bot.Card(inc))
	wantCode(t, err, bot.ENOTFOUND)
}

func TestTopicPinArchive(t *testing.T) {
	srv := slackfake.New(t)
	c := newClient(t, srv, newClock())
	ch := srv.AddChannel(slackfake.Channel{Name: "inc-3-api"})
	if err := c.SetTopic(t.Context(), ch, "SEV1 · investigating · commander: "+bot.Mention("U1")); err != nil {
		t.Fatal(err)
	}
	if got := srv.Topic(ch); got != "SEV1 · investigating · commander: <@U1>" {
		t.Errorf("topic %q", got)
	}
	ref, err := c.Post(t.Context(), ch, bot.Message{Text: "card"})
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Pin(t.Context(), ref); err != nil {
		t.Fatal(err)
	}
	wantCode(t, c.Pin(t.Context(), ref), bot.ECONFLICT) // already_pinned
	if pins := srv.Pins(ch); len(pins) != 1 || pins[0] != ref.TS {
		t.Errorf("pins %v, want [%s]", pins, ref.TS)
	}
	if err := c.Archive(t.Context(), ch); err != nil {
		t.Fatal(err)
	}
	if err := c.Archive(t.Context(), ch); err != nil {
		t.Errorf("archiving an archived channel: %v, want success", err)
	}
	if got, _ := srv.ChannelByID(ch); !got.IsArchived {
		t.Error("channel not archived")
	}
	wantCode(t, c.SetTopic(t.Context(), "C0NOPE", "x"), bot.ENOTFOUND)
}

func TestInvite(t *testing.T) {
	srv := slackfake.New(t)
	for _, id := range []string{"U1", "U2", "U3"} {
		srv.AddUser(slackfake.User{ID: id, Name: strings.ToLower(id)})
	}
	c := newClient(t, srv, newClock())
	ch := srv.AddChannel(slackfake.Channel{Name: "inc-3-api", Members: []string{slackfake.BotUserID, "U2"}})
	t.Run("AlreadyInChannelAndSelf", func(t *testing.T) {
		if err := c.Invite(t.Context(), ch, []string{"U1", "U2", slackfake.BotUserID, "U1"}); err != nil {
			t.Fatalf("Invite: %v", err)
		}
		if got := srv.Members(ch); !containsAll(got, "U1", "U2") {
			t.Errorf("members %v, want U1 and U2", got)
		}
		if err := c.Invite(t.Context(), ch, []string{"U2"}); err != nil {
			t.Errorf("inviting a member alone: %v, want success", err)
		}
	})
	t.Run("ErrUserNotFoundInvitesTheRest", func(t *testing.T) {
		err := c.Invite(t.Context(), ch, []string{"U3", "U9"})
		wantCode(t, err, bot.ENOTFOUND)
		if !strings.Contains(err.Error(), "U9") || strings.Contains(err.Error(), "U3") {
			t.Errorf("error %q should name U9 only", err)
		}
		if got := srv.Members(ch); !containsAll(got, "U3") {
			t.Errorf("members %v: U3 should be invited despite U9", got)
		}
	})
}

func containsAll(have []string, want ...string) bool {
	for _, w := range want {
		found := false
		for _, h := range have {
			found = found || h == w
		}
		if !found {
			return false
		}
	}
	return true
}

func TestUpload(t *testing.T) {
	srv := slackfake.New(t)
	c := newClient(t, srv, newClock())
	ch := srv.AddChannel(slackfake.Channel{Name: "inc-3-api"})
	ref, err := c.Upload(t.Context(), ch, bot.File{Name: "INC-3-postmortem.md", Title: "Postmortem", Content: []byte("# INC-3\n")})
	if err != nil {
		t.Fatal(err)
	}
	ups := srv.Uploads()
	if len(ups) != 1 || !ups[0].Completed || string(ups[0].Content) != "# INC-3\n" || ups[0].Length != 8 || ref.ChannelID != ch {
		t.Errorf("uploads %+v, ref %+v", ups, ref)
	}
	_, err = c.Upload(t.Context(), ch, bot.File{Name: "empty.md"})
	wantCode(t, err, bot.EINVALID)
}

func TestFetchMessage(t *testing.T) {
	srv := slackfake.New(t)
	c := newClient(t, srv, newClock())
	ch := srv.AddChannel(slackfake.Channel{Name: "inc-3-api"})
	first, err := c.Post(t.Context(), ch, bot.Message{Text: "gateway config rolled back"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.Post(t.Context(), ch, bot.Message{Text: "later"}); err != nil {
		t.Fatal(err)
	}
	got, err := c.FetchMessage(t.Context(), ch, first.TS)
	if err != nil || got.Text != "gateway config rolled back" || got.Author != slackfake.BotUserID {
		t.Errorf("FetchMessage = %+v, %v", got, err)
	}
	_, err = c.FetchMessage(t.Context(), ch, "1.000001")
	wantCode(t, err, bot.ENOTFOUND)
	srv.FailNext("conversations.history", slackfake.RateLimited(3))
	_, err = c.FetchMessage(t.Context(), ch, first.TS)
	if temp, after := bot.IsTemporary(err); !temp || after != 3*time.Second {
		t.Errorf("rate limited: %v, want temporary after 3s", err)
	}
}

// TestUpdateUsesNewBlockIDs: Slack asks for a new block_id in each
// iteration of a message; an update with new content gets new ids.
func TestUpdateUsesNewBlockIDs(t *testing.T) {
	srv := slackfake.New(t)
	c := newClient(t, srv, newClock())
	ch := srv.AddChannel(slackfake.Channel{Name: "inc-4-api"})
	inc := cardIncident()
	ref, err := c.Post(t.Context(), ch, bot.Card(inc))
	if err != nil {
		t.Fatal(err)
	}
	inc.Title = "Checkout API down in every region"
	if err := c.Update(t.Context(), ref, bot.Card(inc)); err != nil {
		t.Fatal(err)
	}
	got, _ := srv.Message(ch, ref.TS)
	ids := func(raw json.RawMessage) map[string]bool {
		var bs []struct {
			BlockID string `json:"block_id"`
		}
		if err := json.Unmarshal(raw, &bs); err != nil {
			t.Fatal(err)
		}
		out := map[string]bool{}
		for _, b := range bs {
			out[b.BlockID] = true
		}
		return out
	}
	before, after := ids(got.Versions[0].Blocks), ids(got.Versions[1].Blocks)
	for id := range after {
		if before[id] {
			t.Errorf("block_id %q kept across an update", id)
		}
	}
}
