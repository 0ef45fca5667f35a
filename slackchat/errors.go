package slackchat

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/url"
	"strings"

	"github.com/sitrep-io/sitrep/bot"
	"github.com/slack-go/slack"
)

// Slack error codes that are worth retrying: Slack's own trouble, not ours.
var temporaryCodes = map[string]bool{
	"ratelimited":         true,
	"rate_limited":        true,
	"internal_error":      true,
	"fatal_error":         true,
	"service_unavailable": true,
	"request_timeout":     true,
}

// Slack error codes mapped to domain codes, with what to do next.
var permanentCodes = map[string]struct {
	code string
	hint string
}{
	"name_taken":            {bot.ECONFLICT, "the channel name is taken"},
	"already_pinned":        {bot.ECONFLICT, "the message is already pinned"},
	"user_not_found":        {bot.ENOTFOUND, "Slack does not know that user; check the user id"},
	"users_not_found":       {bot.ENOTFOUND, "no Slack user has that email address"},
	"channel_not_found":     {bot.ENOTFOUND, "the channel does not exist or the bot cannot see it; invite the bot to it"},
	"message_not_found":     {bot.ENOTFOUND, "the message no longer exists"},
	"thread_not_found":      {bot.ENOTFOUND, "the message or its thread no longer exists"},
	"no_such_subteam":       {bot.ENOTFOUND, "no Slack user group has that id"},
	"is_archived":           {bot.EINVALID, "the channel is archived; unarchive it in Slack"},
	"not_in_channel":        {bot.EFORBIDDEN, "the bot is not in the channel; invite it with /invite @sitrep"},
	"missing_scope":         {bot.EFORBIDDEN, "the Slack app lacks a scope; add it under OAuth & Permissions and reinstall the app"},
	"restricted_action":     {bot.EFORBIDDEN, "a workspace setting forbids this; ask a Slack admin"},
	"not_authed":            {bot.EUNAUTHORIZED, "no bot token was sent; set SLACK_BOT_TOKEN"},
	"invalid_auth":          {bot.EUNAUTHORIZED, "the bot token is not valid; check SLACK_BOT_TOKEN"},
	"account_inactive":      {bot.EUNAUTHORIZED, "the bot token belongs to a deactivated app; reinstall the app"},
	"token_revoked":         {bot.EUNAUTHORIZED, "the bot token was revoked; reinstall the app and update SLACK_BOT_TOKEN"},
	"invalid_name":          {bot.EINVALID, "Slack rejected the channel name"},
	"msg_too_long":          {bot.EINVALID, "the message is longer than Slack accepts (40,000 characters)"},
	"invalid_blocks":        {bot.EINVALID, "Slack refused the message's blocks (over a Block Kit limit)"},
	"invalid_name_specials": {bot.EINVALID, "Slack rejected the channel name: use lowercase letters, digits and hyphens"},
}

// mapError translates an error from slack-go into what the outbox and the
// domain understand, by type, never by text:
//   - *slack.RateLimitedError (429 with Retry-After): a rate-limited
//     *bot.TemporaryError carrying Slack's Retry-After (whole seconds:
//     retryAfterTransport rounds the other forms up before slack-go reads it);
//   - slack.StatusCodeError 429 or 5xx, transport failures (timeouts,
//     refused or reset connections) and context deadlines: *bot.TemporaryError;
//   - slack.SlackErrorResponse (ok:false): a *bot.Error with a code (see
//     permanentCodes), or *bot.TemporaryError for Slack's own failures;
//   - anything else: a permanent error.
//
// method names the Web API method, for the message.
func mapError(method string, err error) error {
	if err == nil {
		return nil
	}
	wrapped := fmt.Errorf("slack %s: %w", method, err)
	var rl *slack.RateLimitedError
	if errors.As(err, &rl) {
		return bot.RateLimited(wrapped, rl.RetryAfter)
	}
	var sc slack.StatusCodeError
	if errors.As(err, &sc) {
		if sc.Code == 429 || sc.Code >= 500 {
			return bot.Temporary(wrapped, 0)
		}
		return wrapped
	}
	var se slack.SlackErrorResponse
	if errors.As(err, &se) {
		return mapSlackError(method, se)
	}
	if transient(err) {
		return bot.Temporary(wrapped, 0)
	}
	return wrapped
}

// mapSlackError maps an ok:false answer by its error code.
func mapSlackError(method string, se slack.SlackErrorResponse) error {
	if temporaryCodes[se.Err] {
		return bot.Temporary(fmt.Errorf("slack %s: %w", method, se), 0)
	}
	if p, ok := permanentCodes[se.Err]; ok {
		hint := p.hint
		if se.Err == "missing_scope" && se.Needed != "" {
			hint = fmt.Sprintf("the Slack app lacks the %s scope; add it under OAuth & Permissions and reinstall the app", se.Needed)
		}
		return bot.Errorf(p.code, "slack %s: %s (%s)", method, hint, se.Err)
	}
	return bot.Errorf(bot.EINTERNAL, "slack %s failed: %s", method, se.Err)
}

// transient reports whether err is a network or deadline failure that a
// later attempt may not meet.
func transient(err error) bool {
	if errors.Is(err, context.DeadlineExceeded) || errors.Is(err, context.Canceled) ||
		errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF) {
		return true
	}
	var ne net.Error
	if errors.As(err, &ne) {
		return true // timeouts, refused and reset connections, DNS failures
	}
	var ue *url.Error
	return errors.As(err, &ue)
}

// slackCode returns the Slack error code of err ("" when it is not an
// ok:false answer).
func slackCode(err error) string {
	var se slack.SlackErrorResponse
	if errors.As(err, &se) {
		return se.Err
	}
	return ""
}

// joinUsers renders user ids for a message.
func joinUsers(users []string) string { return strings.Join(users, ", ") }
