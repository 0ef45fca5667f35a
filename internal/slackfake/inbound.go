package slackfake

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// Header names Slack uses on inbound HTTP requests.
const (
	HeaderSignature   = "X-Slack-Signature"
	HeaderTimestamp   = "X-Slack-Request-Timestamp"
	HeaderRetryNum    = "X-Slack-Retry-Num"
	HeaderRetryReason = "X-Slack-Retry-Reason"
)

// Signature returns Slack's v0 signature of body sent at timestamp (Unix
// seconds as a decimal string): "v0=" + hex(HMAC-SHA256(secret,
// "v0:"+timestamp+":"+body)).
func Signature(secret, timestamp string, body []byte) string {
	mac := hmac.New(sha256.New, []byte(secret))
	mac.Write([]byte("v0:" + timestamp + ":"))
	mac.Write(body)
	return "v0=" + hex.EncodeToString(mac.Sum(nil))
}

// Sign returns the X-Slack-Request-Timestamp and X-Slack-Signature headers
// for body sent at ts.
func Sign(secret string, ts time.Time, body []byte) http.Header {
	stamp := strconv.FormatInt(ts.Unix(), 10)
	h := http.Header{}
	h.Set(HeaderTimestamp, stamp)
	h.Set(HeaderSignature, Signature(secret, stamp, body))
	return h
}

// RequestOption adjusts an inbound request built by this package.
type RequestOption func(*http.Request)

// WithRetry adds X-Slack-Retry-Num and X-Slack-Retry-Reason, as on Slack's
// redeliveries of an event (num 1..3; reason e.g. "http_timeout").
func WithRetry(num int, reason string) RequestOption {
	return func(r *http.Request) {
		r.Header.Set(HeaderRetryNum, strconv.Itoa(num))
		r.Header.Set(HeaderRetryReason, reason)
	}
}

// WithHeader sets an extra header (set it after signing: it does not change
// the signature).
func WithHeader(key, value string) RequestOption {
	return func(r *http.Request) { r.Header.Set(key, value) }
}

// signedRequest builds a signed POST.
func signedRequest(url, secret string, now time.Time, contentType string, body []byte, opts []RequestOption) *http.Request {
	r, err := http.NewRequest(http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		panic(fmt.Sprintf("slackfake: bad url %q: %v", url, err))
	}
	r.Header.Set("Content-Type", contentType)
	r.Header.Set("User-Agent", "Slackbot 1.0 (+https://api.slack.com/robots)")
	r.Header.Set("Accept", "application/json,*/*")
	for k, v := range Sign(secret, now, body) {
		r.Header[k] = v
	}
	for _, o := range opts {
		o(r)
	}
	return r
}

// PercentEncode encodes s the way Slack encodes form values on the wire:
// every byte except ALPHA / DIGIT / "-" / "." / "_" / "~" becomes %XX
// (uppercase hex); a space is "%20", not "+".
func PercentEncode(s string) string {
	var b strings.Builder
	const hexDigits = "0123456789ABCDEF"
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9', c == '-', c == '.', c == '_', c == '~':
			b.WriteByte(c)
		default:
			b.WriteByte('%')
			b.WriteByte(hexDigits[c>>4])
			b.WriteByte(hexDigits[c&15])
		}
	}
	return b.String()
}

// formBody encodes ordered key/value pairs.
func formBody(kv ...string) []byte {
	var b strings.Builder
	for i := 0; i+1 < len(kv); i += 2 {
		if i > 0 {
			b.WriteByte('&')
		}
		b.WriteString(PercentEncode(kv[i]))
		b.WriteByte('=')
		b.WriteString(PercentEncode(kv[i+1]))
	}
	return []byte(b.String())
}

// ---------------------------------------------------------------- slash commands

// SlashCommand holds the fields Slack POSTs for a slash command.
type SlashCommand struct {
	Token          string // deprecated verification token
	TeamID         string
	TeamDomain     string
	EnterpriseID   string // sent only when set
	EnterpriseName string // sent only when set
	ChannelID      string
	ChannelName    string
	UserID         string
	UserName       string
	Command        string // e.g. "/incident"
	Text           string
	ResponseURL    string
	TriggerID      string
	APIAppID       string // sent only when set
}

// Encode returns the form body in the field order Slack uses, percent-encoded
// as on the wire.
func (c SlashCommand) Encode() []byte {
	kv := []string{"token", c.Token, "team_id", c.TeamID, "team_domain", c.TeamDomain}
	if c.EnterpriseID != "" || c.EnterpriseName != "" {
		kv = append(kv, "enterprise_id", c.EnterpriseID, "enterprise_name", c.EnterpriseName)
	}
	kv = append(kv,
		"channel_id", c.ChannelID, "channel_name", c.ChannelName,
		"user_id", c.UserID, "user_name", c.UserName,
		"command", c.Command, "text", c.Text,
		"response_url", c.ResponseURL, "trigger_id", c.TriggerID)
	if c.APIAppID != "" {
		kv = append(kv, "api_app_id", c.APIAppID)
	}
	return formBody(kv...)
}

// SlashCommandRequest builds the signed POST Slack sends for a slash
// command.
func SlashCommandRequest(url, secret string, now time.Time, cmd SlashCommand, opts ...RequestOption) *http.Request {
	return signedRequest(url, secret, now, "application/x-www-form-urlencoded", cmd.Encode(), opts)
}

// ---------------------------------------------------------------- interactivity

// InteractionRequest builds the signed POST Slack sends for an interaction:
// a form body with the single field payload=<URL-encoded JSON>. payload is
// marshalled with encoding/json; pass json.RawMessage or []byte for exact
// bytes.
func InteractionRequest(url, secret string, now time.Time, payload any, opts ...RequestOption) *http.Request {
	raw := marshal(payload)
	return signedRequest(url, secret, now, "application/x-www-form-urlencoded", formBody("payload", string(raw)), opts)
}

func marshal(v any) []byte {
	switch p := v.(type) {
	case []byte:
		return p
	case json.RawMessage:
		return p
	case string:
		return []byte(p)
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		panic(fmt.Sprintf("slackfake: cannot marshal payload: %v", err))
	}
	return bytes.TrimRight(buf.Bytes(), "\n")
}

// Text is a Block Kit text object.
type Text struct {
	Type  string `json:"type"`
	Text  string `json:"text"`
	Emoji bool   `json:"emoji,omitempty"`
}

// PayloadUser is the user object of an interaction payload.
type PayloadUser struct {
	ID       string `json:"id"`
	Username string `json:"username"`
	Name     string `json:"name,omitempty"`
	TeamID   string `json:"team_id,omitempty"`
}

// PayloadTeam is the team object of an interaction payload.
type PayloadTeam struct {
	ID     string `json:"id"`
	Domain string `json:"domain"`
}

// PayloadChannel is the channel object of an interaction payload.
type PayloadChannel struct {
	ID   string `json:"id"`
	Name string `json:"name"`
}

// Container says where an interaction happened.
type Container struct {
	Type        string `json:"type"` // "message" or "view"
	MessageTS   string `json:"message_ts,omitempty"`
	ChannelID   string `json:"channel_id,omitempty"`
	IsEphemeral bool   `json:"is_ephemeral"`
	ViewID      string `json:"view_id,omitempty"`
}

// Action is one entry of a block_actions payload's actions[].
type Action struct {
	ActionID string `json:"action_id"`
	BlockID  string `json:"block_id"`
	Text     *Text  `json:"text,omitempty"`
	Value    string `json:"value,omitempty"`
	Type     string `json:"type"`
	ActionTS string `json:"action_ts"`
}

// BlockActionsPayload is a block_actions interaction payload.
type BlockActionsPayload struct {
	Type        string          `json:"type"`
	User        PayloadUser     `json:"user"`
	APIAppID    string          `json:"api_app_id"`
	Token       string          `json:"token"`
	Container   Container       `json:"container"`
	TriggerID   string          `json:"trigger_id"`
	Team        PayloadTeam     `json:"team"`
	Channel     *PayloadChannel `json:"channel,omitempty"`
	Message     json.RawMessage `json:"message,omitempty"`
	State       json.RawMessage `json:"state,omitempty"`
	ResponseURL string          `json:"response_url,omitempty"`
	Actions     []Action        `json:"actions"`
}

// ButtonClick describes a click on a button in a message. Empty fields get
// defaults (the fake workspace's ids, generated trigger and response URL).
type ButtonClick struct {
	TeamID, TeamDomain  string
	UserID, UserName    string
	APIAppID            string
	ChannelID           string
	ChannelName         string
	MessageTS           string
	MessageText         string          // text of the message holding the button
	MessageBlocks       json.RawMessage // blocks of that message (optional)
	ActionID, BlockID   string
	Value               string
	ButtonText          string
	TriggerID, ActionTS string
	ResponseURL         string
	Ephemeral           bool
}

func slackTS(t time.Time) string {
	return fmt.Sprintf("%d.%06d", t.Unix(), t.Nanosecond()/1000)
}

func or(v, def string) string {
	if v == "" {
		return def
	}
	return v
}

// BlockActions builds the block_actions payload Slack sends when a user
// clicks a button in a message, with the shape of Slack's documented sample
// (container type "message").
func BlockActions(b ButtonClick, now time.Time) BlockActionsPayload {
	team := or(b.TeamID, TeamID)
	app := or(b.APIAppID, AppID)
	msg := map[string]any{
		"bot_id": BotID, "type": "message", "text": or(b.MessageText, "This content can't be displayed."),
		"user": BotUserID, "ts": b.MessageTS, "team": team,
	}
	if b.MessageBlocks != nil {
		msg["blocks"] = b.MessageBlocks
	}
	p := BlockActionsPayload{
		Type:     "block_actions",
		User:     PayloadUser{ID: b.UserID, Username: b.UserName, Name: b.UserName, TeamID: team},
		APIAppID: app,
		Token:    "fixed-value",
		Container: Container{
			Type: "message", MessageTS: b.MessageTS, ChannelID: b.ChannelID, IsEphemeral: b.Ephemeral,
		},
		TriggerID:   or(b.TriggerID, fmt.Sprintf("%d.%s.fake%x", now.Unix(), strings.TrimPrefix(team, "T"), now.UnixNano()&0xffffff)),
		Team:        PayloadTeam{ID: team, Domain: or(b.TeamDomain, TeamDom)},
		Channel:     &PayloadChannel{ID: b.ChannelID, Name: b.ChannelName},
		Message:     marshal(msg),
		State:       json.RawMessage(`{"values":{}}`),
		ResponseURL: or(b.ResponseURL, fmt.Sprintf("https://hooks.slack.com/actions/%s/%d/fake", team, now.Unix())),
		Actions: []Action{{
			ActionID: b.ActionID,
			BlockID:  b.BlockID,
			Text:     &Text{Type: "plain_text", Text: or(b.ButtonText, b.Value), Emoji: true},
			Value:    b.Value,
			Type:     "button",
			ActionTS: or(b.ActionTS, slackTS(now)),
		}},
	}
	return p
}

// InputValue is one entry of a view's state.values[block_id][action_id].
type InputValue struct {
	Type                 string        `json:"type"`
	Value                *string       `json:"value,omitempty"`
	SelectedOption       *SelectOption `json:"selected_option,omitempty"`
	SelectedUser         string        `json:"selected_user,omitempty"`
	SelectedUsers        []string      `json:"selected_users,omitempty"`
	SelectedConversation string        `json:"selected_conversation,omitempty"`
	SelectedChannel      string        `json:"selected_channel,omitempty"`
}

// SelectOption is an option of a select menu.
type SelectOption struct {
	Text  Text   `json:"text"`
	Value string `json:"value"`
}

// PlainTextInput is the state of a plain_text_input.
func PlainTextInput(value string) InputValue {
	return InputValue{Type: "plain_text_input", Value: &value}
}

// StaticSelect is the state of a static_select with an option chosen.
func StaticSelect(value, text string) InputValue {
	return InputValue{Type: "static_select", SelectedOption: &SelectOption{
		Text: Text{Type: "plain_text", Text: text, Emoji: true}, Value: value,
	}}
}

// UsersSelect is the state of a users_select.
func UsersSelect(userID string) InputValue {
	return InputValue{Type: "users_select", SelectedUser: userID}
}

// ConversationsSelect is the state of a conversations_select.
func ConversationsSelect(id string) InputValue {
	return InputValue{Type: "conversations_select", SelectedConversation: id}
}

// Submission describes a modal submission.
type Submission struct {
	TeamID, TeamDomain string
	UserID, UserName   string
	APIAppID           string
	ViewID             string
	CallbackID         string
	PrivateMetadata    string
	Hash               string
	Title              string
	// Values maps block_id -> action_id -> state.
	Values map[string]map[string]InputValue
}

// ViewSubmissionPayload is a view_submission interaction payload.
type ViewSubmissionPayload struct {
	Type      string          `json:"type"`
	Team      PayloadTeam     `json:"team"`
	User      PayloadUser     `json:"user"`
	APIAppID  string          `json:"api_app_id"`
	Token     string          `json:"token"`
	TriggerID string          `json:"trigger_id"`
	View      json.RawMessage `json:"view"`
}

// ViewSubmission builds the view_submission payload Slack sends when a user
// submits a modal, with the shape of Slack's documented sample.
func ViewSubmission(v Submission, now time.Time) ViewSubmissionPayload {
	team := or(v.TeamID, TeamID)
	values := v.Values
	if values == nil {
		values = map[string]map[string]InputValue{}
	}
	view := map[string]any{
		"id":               or(v.ViewID, "V0FK00001"),
		"team_id":          team,
		"type":             "modal",
		"title":            Text{Type: "plain_text", Text: or(v.Title, "Modal")},
		"submit":           Text{Type: "plain_text", Text: "Submit"},
		"blocks":           []any{},
		"private_metadata": v.PrivateMetadata,
		"callback_id":      v.CallbackID,
		"state":            map[string]any{"values": values},
		"hash":             or(v.Hash, fmt.Sprintf("%d.fake", now.Unix())),
		"app_id":           or(v.APIAppID, AppID),
		"bot_id":           BotID,
		"response_urls":    []any{},
	}
	return ViewSubmissionPayload{
		Type:      "view_submission",
		Team:      PayloadTeam{ID: team, Domain: or(v.TeamDomain, TeamDom)},
		User:      PayloadUser{ID: v.UserID, Username: v.UserName, Name: v.UserName, TeamID: team},
		APIAppID:  or(v.APIAppID, AppID),
		Token:     "fixed-value",
		TriggerID: fmt.Sprintf("%d.%s.fakesubmit", now.Unix(), strings.TrimPrefix(team, "T")),
		View:      marshal(view),
	}
}

// ---------------------------------------------------------------- events

// Authorization is one entry of an event's authorizations[].
type Authorization struct {
	EnterpriseID        *string `json:"enterprise_id"`
	TeamID              string  `json:"team_id"`
	UserID              string  `json:"user_id"`
	IsBot               bool    `json:"is_bot"`
	IsEnterpriseInstall bool    `json:"is_enterprise_install"`
}

// EventCallback is the Events API envelope of type event_callback.
type EventCallback struct {
	Token              string          `json:"token"`
	TeamID             string          `json:"team_id"`
	APIAppID           string          `json:"api_app_id"`
	Event              json.RawMessage `json:"event"`
	Type               string          `json:"type"`
	Authorizations     []Authorization `json:"authorizations"`
	EventID            string          `json:"event_id"`
	EventContext       string          `json:"event_context,omitempty"`
	EventTime          int64           `json:"event_time"`
	IsExtSharedChannel bool            `json:"is_ext_shared_channel"`
	ContextTeamID      string          `json:"context_team_id,omitempty"`
}

// URLVerification is the Events API url_verification request.
type URLVerification struct {
	Token     string `json:"token"`
	Challenge string `json:"challenge"`
	Type      string `json:"type"`
}

// NewURLVerification builds a url_verification request body.
func NewURLVerification(challenge string) URLVerification {
	return URLVerification{Token: "fixed-value", Challenge: challenge, Type: "url_verification"}
}

// NewEventCallback wraps an inner event (for example from ReactionAdded) in
// an event_callback envelope with the given event_id (generated from now
// when empty).
func NewEventCallback(eventID string, event any, now time.Time) EventCallback {
	return EventCallback{
		Token:    "fixed-value",
		TeamID:   TeamID,
		APIAppID: AppID,
		Event:    marshal(event),
		Type:     "event_callback",
		Authorizations: []Authorization{{
			TeamID: TeamID, UserID: BotUserID, IsBot: true,
		}},
		EventID:            or(eventID, fmt.Sprintf("Ev%X", now.UnixNano())),
		EventContext:       "4-fake",
		EventTime:          now.Unix(),
		IsExtSharedChannel: false,
		ContextTeamID:      TeamID,
	}
}

// ReactionAdded is a reaction_added event on a message. itemUser may be
// empty (Slack omits item_user for messages not authored by users).
func ReactionAdded(user, reaction, channel, ts, itemUser string, now time.Time) map[string]any {
	ev := map[string]any{
		"type":     "reaction_added",
		"user":     user,
		"item":     map[string]any{"type": "message", "channel": channel, "ts": ts},
		"reaction": reaction,
		"event_ts": slackTS(now),
	}
	if itemUser != "" {
		ev["item_user"] = itemUser
	}
	return ev
}

// MessageEvent is a plain message event in a channel (threadTS may be "").
func MessageEvent(channel, user, text, ts, threadTS string) map[string]any {
	ev := map[string]any{
		"type": "message", "channel": channel, "user": user, "text": text,
		"ts": ts, "event_ts": ts, "channel_type": "channel", "team": TeamID,
	}
	if threadTS != "" {
		ev["thread_ts"] = threadTS
	}
	return ev
}

// MessageChanged is a message event with subtype message_changed.
func MessageChanged(channel, user, ts, newText, oldText string, now time.Time) map[string]any {
	evTS := slackTS(now)
	return map[string]any{
		"type": "message", "subtype": "message_changed", "hidden": true,
		"channel": channel, "channel_type": "channel", "ts": evTS, "event_ts": evTS,
		"message": map[string]any{
			"type": "message", "user": user, "text": newText, "ts": ts,
			"edited": map[string]any{"user": user, "ts": evTS},
		},
		"previous_message": map[string]any{"type": "message", "user": user, "text": oldText, "ts": ts},
	}
}

// MessageTombstoned is what Slack sends when a message that has thread
// replies is deleted: the parent stays as a "tombstone", reported as
// message_changed whose message has subtype tombstone and the text "This
// message was deleted.".
func MessageTombstoned(channel, ts, oldText string, now time.Time) map[string]any {
	evTS := slackTS(now)
	return map[string]any{
		"type": "message", "subtype": "message_changed", "hidden": true,
		"channel": channel, "channel_type": "channel", "ts": evTS, "event_ts": evTS,
		"message": map[string]any{
			"type": "message", "subtype": "tombstone", "hidden": true, "user": "USLACKBOT",
			"text": "This message was deleted.", "ts": ts, "thread_ts": ts, "reply_count": 1,
		},
		"previous_message": map[string]any{"type": "message", "text": oldText, "ts": ts, "thread_ts": ts},
	}
}

// MessageDeleted is a message event with subtype message_deleted.
func MessageDeleted(channel, deletedTS, oldText string, now time.Time) map[string]any {
	evTS := slackTS(now)
	return map[string]any{
		"type": "message", "subtype": "message_deleted", "hidden": true,
		"channel": channel, "channel_type": "channel", "ts": evTS, "event_ts": evTS,
		"deleted_ts":       deletedTS,
		"previous_message": map[string]any{"type": "message", "text": oldText, "ts": deletedTS},
	}
}

// MemberJoinedChannel is a member_joined_channel event (inviter may be "").
func MemberJoinedChannel(user, channel, inviter string, now time.Time) map[string]any {
	ev := map[string]any{
		"type": "member_joined_channel", "user": user, "channel": channel,
		"channel_type": "C", "team": TeamID, "event_ts": slackTS(now),
	}
	if inviter != "" {
		ev["inviter"] = inviter
	}
	return ev
}

// EventRequest builds the signed JSON POST Slack sends to an Events API
// request URL. envelope is typically an EventCallback or URLVerification;
// use WithRetry to mimic a redelivery.
func EventRequest(url, secret string, now time.Time, envelope any, opts ...RequestOption) *http.Request {
	return signedRequest(url, secret, now, "application/json", marshal(envelope), opts)
}
