// Package console is the chat that needs no account: the terminal. What the
// bot would post in a channel is printed as a transcript line, and
// "/incident ..." commands typed on standard input are handled as from a
// local user.
package console

import (
	"context"
	"fmt"
	"io"
	"strings"
	"sync"
	"time"

	"github.com/sitrep-io/sitrep/bot"
)

// Chat prints what the bot says. It implements bot.Chat.
type Chat struct {
	mu       sync.Mutex
	out      io.Writer
	now      func() time.Time
	seq      int64
	channels map[string]bool
}

var (
	_ bot.Chat      = (*Chat)(nil)
	_ bot.Directory = (*Chat)(nil)
)

// NewChat returns a Chat printing to out. now stamps transcript lines
// (time.Now when nil).
func NewChat(out io.Writer, now func() time.Time) *Chat {
	if now == nil {
		now = time.Now
	}
	return &Chat{out: out, now: now, channels: map[string]bool{}}
}

// CreateChannel "creates" a channel whose id is its name. A name used
// before is taken, as in Slack.
func (c *Chat) CreateChannel(_ context.Context, spec bot.ChannelSpec) (bot.ChannelRef, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.channels[spec.Name] {
		return bot.ChannelRef{}, bot.Errorf(bot.ECONFLICT, "channel #%s exists", spec.Name)
	}
	c.channels[spec.Name] = true
	kind := "channel"
	if spec.Private {
		kind = "private channel"
	}
	c.linef(spec.Name, "sitrep created %s #%s", kind, spec.Name)
	return bot.ChannelRef{ID: spec.Name, Name: spec.Name}, nil
}

// Post prints a message and returns a sequential message id.
func (c *Chat) Post(_ context.Context, channelID string, msg bot.Message) (bot.MessageRef, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.seq++
	c.printMessage(channelID, "", msg)
	return bot.MessageRef{ChannelID: channelID, TS: fmt.Sprint(c.seq)}, nil
}

// Update prints the new version of a message.
func (c *Chat) Update(_ context.Context, ref bot.MessageRef, msg bot.Message) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.printMessage(ref.ChannelID, "(card updated) ", msg)
	return nil
}

// SetTopic prints the new topic.
func (c *Chat) SetTopic(_ context.Context, channelID, topic string) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.linef(channelID, "topic: %s", bot.PlainText(topic))
	return nil
}

// Invite prints who was invited.
func (c *Chat) Invite(_ context.Context, channelID string, users []string) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.linef(channelID, "invited %s", bot.PlainText(mentions(users)))
	return nil
}

// Pin prints that a message was pinned.
func (c *Chat) Pin(_ context.Context, ref bot.MessageRef) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.linef(ref.ChannelID, "pinned message %s", ref.TS)
	return nil
}

// Archive prints that the channel was archived.
func (c *Chat) Archive(_ context.Context, channelID string) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.linef(channelID, "channel archived")
	return nil
}

// Upload prints the file's name and size; the console keeps no files.
func (c *Chat) Upload(_ context.Context, channelID string, f bot.File) (bot.MessageRef, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.seq++
	c.linef(channelID, "uploaded %s (%d bytes): %s", f.Name, len(f.Content), f.Title)
	return bot.MessageRef{ChannelID: channelID, TS: fmt.Sprint(c.seq)}, nil
}

// User returns a console user: the id is the name.
func (c *Chat) User(_ context.Context, id string) (bot.ChatUser, error) {
	return bot.ChatUser{ID: id, Name: id, RealName: id}, nil
}

// UserByEmail finds no one: the console has no directory.
func (c *Chat) UserByEmail(_ context.Context, email string) (bot.ChatUser, error) {
	return bot.ChatUser{}, bot.Errorf(bot.ENOTFOUND, "the console has no user with email %s", email)
}

// GroupMembers finds no members: the console has no user groups.
func (c *Chat) GroupMembers(_ context.Context, groupID string) ([]string, error) {
	return nil, bot.Errorf(bot.ENOTFOUND, "the console has no user group %s", groupID)
}

// Printf prints a line outside any channel (replies to the local user),
// serialised with the transcript.
func (c *Chat) Printf(format string, args ...any) {
	c.mu.Lock()
	defer c.mu.Unlock()
	fmt.Fprintf(c.out, format, args...)
}

func (c *Chat) printMessage(channel, prefix string, msg bot.Message) {
	if msg.Title != "" {
		c.linef(channel, "%s%s", prefix, bot.PlainText(msg.Title))
	} else {
		c.linef(channel, "%s%s", prefix, bot.PlainText(msg.Text))
	}
	indent := strings.Repeat(" ", 11)
	if len(msg.Fields) > 0 {
		parts := make([]string, len(msg.Fields))
		for i, f := range msg.Fields {
			parts[i] = f.Label + ": " + bot.PlainText(f.Value)
		}
		fmt.Fprintf(c.out, "%s%s\n", indent, strings.Join(parts, " · "))
	}
	if len(msg.Actions) > 0 {
		labels := make([]string, len(msg.Actions))
		for i, a := range msg.Actions {
			labels[i] = "[" + a.Label + "]"
		}
		fmt.Fprintf(c.out, "%s%s\n", indent, strings.Join(labels, " "))
	}
}

func (c *Chat) linef(channel, format string, args ...any) {
	fmt.Fprintf(c.out, "%s #%s  %s\n", c.now().Format("15:04:05"), channel, fmt.Sprintf(format, args...))
}

// mentions is users as the domain mentions them, space separated.
func mentions(users []string) string {
	out := make([]string, len(users))
	for i, u := range users {
		out[i] = bot.Mention(u)
	}
	return strings.Join(out, " ")
}
