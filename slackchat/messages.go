package slackchat

import (
	"context"

	"github.com/sitrep-io/sitrep/bot"
	"github.com/slack-go/slack"
)

// Post posts msg in a channel (chat.postMessage), rendered as Block Kit with
// msg.Text (or Title) as the notification fallback and msg.Tag as message
// metadata. Posts are paced per channel, about one a second.
func (c *Client) Post(ctx context.Context, channelID string, msg bot.Message) (bot.MessageRef, error) {
	var ch, ts string
	err := c.callAs(ctx, "post:"+channelID, "chat.postMessage", perChannelPost, func() (err error) {
		ch, ts, err = c.api.PostMessageContext(ctx, channelID, msgOptions(msg)...)
		return err
	})
	if err != nil {
		return bot.MessageRef{}, err
	}
	return bot.MessageRef{ChannelID: ch, TS: ts}, nil
}

// Update redraws a posted message in place (chat.update).
func (c *Client) Update(ctx context.Context, ref bot.MessageRef, msg bot.Message) error {
	return c.call(ctx, "chat.update", func() error {
		_, _, _, err := c.api.UpdateMessageContext(ctx, ref.ChannelID, ref.TS, msgOptions(msg)...)
		return err
	})
}

// FindTagged looks for the bot's message tagged tag among the channel's
// most recent messages (Options.HistoryWindow, one conversations.history
// page with metadata). The outbox asks only about attempts cut short by a
// crash, which are recent; an older message is not found.
func (c *Client) FindTagged(ctx context.Context, channelID, tag string) (bot.MessageRef, bool, error) {
	var hist *slack.GetConversationHistoryResponse
	err := c.call(ctx, "conversations.history", func() (err error) {
		hist, err = c.api.GetConversationHistoryContext(ctx, &slack.GetConversationHistoryParameters{
			ChannelID: channelID, Limit: c.opt.HistoryWindow, IncludeAllMetadata: true,
		})
		return err
	})
	if err != nil {
		return bot.MessageRef{}, false, err
	}
	for _, m := range hist.Messages {
		if m.Metadata.EventType == MetadataEventType && m.Metadata.EventPayload[metadataTagKey] == tag {
			return bot.MessageRef{ChannelID: channelID, TS: m.Timestamp}, true, nil
		}
	}
	return bot.MessageRef{}, false, nil
}

// Upload shares a file in a channel through Slack's external upload
// (files.getUploadURLExternal, the upload, files.completeUploadExternal).
// Slack answers with a file, not a message: the returned ref has the
// channel and an empty TS. An empty file returns EINVALID.
func (c *Client) Upload(ctx context.Context, channelID string, f bot.File) (bot.MessageRef, error) {
	if len(f.Content) == 0 {
		return bot.MessageRef{}, bot.Errorf(bot.EINVALID, "cannot upload %s: the file is empty", f.Name)
	}
	title := f.Title
	if title == "" {
		title = f.Name
	}
	err := c.call(ctx, "files.completeUploadExternal", func() error {
		_, err := c.api.UploadFileContext(ctx, slack.UploadFileParameters{
			Channel: channelID, Filename: f.Name, Title: title, Content: string(f.Content), FileSize: len(f.Content),
		})
		return err
	})
	if err != nil {
		return bot.MessageRef{}, err
	}
	return bot.MessageRef{ChannelID: channelID}, nil
}

// FetchMessage reads one message of a channel by its ts: a top-level one
// through conversations.history, and, since history holds only thread
// parents, a reply in a thread through conversations.replies (which takes
// the ts of any message of a thread). Both are paced like every history
// read. A message that is gone returns ENOTFOUND.
func (c *Client) FetchMessage(ctx context.Context, channelID, ts string) (bot.ChatMessage, error) {
	m, err := c.fetchTopLevel(ctx, channelID, ts)
	if bot.ErrorCode(err) != bot.ENOTFOUND {
		return m, err
	}
	return c.fetchReply(ctx, channelID, ts)
}

// fetchReply reads a message in a thread (conversations.replies).
func (c *Client) fetchReply(ctx context.Context, channelID, ts string) (bot.ChatMessage, error) {
	var msgs []slack.Message
	err := c.call(ctx, "conversations.replies", func() (err error) {
		msgs, _, _, err = c.api.GetConversationRepliesContext(ctx, &slack.GetConversationRepliesParameters{
			ChannelID: channelID, Timestamp: ts, Latest: ts, Inclusive: true,
		})
		return err
	})
	if err != nil { // thread_not_found: ENOTFOUND
		return bot.ChatMessage{}, err
	}
	if m, ok := MessageAt(msgs, ts); ok {
		return m, nil
	}
	return bot.ChatMessage{}, bot.Errorf(bot.ENOTFOUND, "message %s is no longer in %s", ts, channelID)
}

// fetchTopLevel reads a top-level message (conversations.history).
func (c *Client) fetchTopLevel(ctx context.Context, channelID, ts string) (bot.ChatMessage, error) {
	var hist *slack.GetConversationHistoryResponse
	err := c.call(ctx, "conversations.history", func() (err error) {
		hist, err = c.api.GetConversationHistoryContext(ctx, &slack.GetConversationHistoryParameters{
			ChannelID: channelID, Latest: ts, Oldest: ts, Inclusive: true, Limit: 1,
		})
		return err
	})
	if err != nil {
		return bot.ChatMessage{}, err
	}
	if m, ok := MessageAt(hist.Messages, ts); ok {
		return m, nil
	}
	return bot.ChatMessage{}, bot.Errorf(bot.ENOTFOUND, "message %s is no longer in %s", ts, channelID)
}

// MessageAt picks the message with timestamp ts out of a history read, its
// author being the user who wrote it or, for a bot's post, the bot; false
// when none has that ts.
func MessageAt(msgs []slack.Message, ts string) (bot.ChatMessage, bool) {
	for _, m := range msgs {
		if m.Timestamp == ts {
			author := m.User
			if author == "" {
				author = m.BotID
			}
			return bot.ChatMessage{Author: author, Text: m.Text}, true
		}
	}
	return bot.ChatMessage{}, false
}
