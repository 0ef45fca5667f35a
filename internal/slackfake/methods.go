package slackfake

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"
)

// All handlers run with s.mu held.

// lookupChannel resolves a channel id, or a user id to the bot's DM with
// that user.
func (s *Server) lookupChannel(id string) *channelState {
	if c := s.channels[id]; c != nil {
		return c
	}
	if dm, ok := s.dms[id]; ok {
		return s.channels[dm]
	}
	return nil
}

// openDM returns the DM channel with a user, creating it.
func (s *Server) openDM(user string) (*channelState, *apiError) {
	if dm, ok := s.dms[user]; ok {
		return s.channels[dm], nil
	}
	if !s.knownUser(user) {
		return nil, slackErr("user_not_found")
	}
	c := &channelState{
		Channel: Channel{ID: s.nextID("D"), IsIM: true, Created: time.Now(), Members: []string{BotUserID, user}},
		byTS:    map[string]*Message{},
	}
	s.putChannel(c)
	s.dms[user] = c.ID
	return c, nil
}

// visible reports whether the bot can see c: a private channel (or a DM)
// it is not a member of is one Slack answers channel_not_found for.
func (c *channelState) visible() bool {
	return !(c.IsPrivate || c.IsIM) || slices.Contains(c.Members, BotUserID)
}

// channelFor resolves the channel parameter of a call that may target a DM
// by user id.
func (s *Server) channelFor(id string) (*channelState, *apiError) {
	if id == "" {
		return nil, slackErr("channel_not_found")
	}
	if c := s.lookupChannel(id); c != nil {
		return c, nil
	}
	if strings.HasPrefix(id, "U") || strings.HasPrefix(id, "W") {
		return s.openDM(id)
	}
	return nil, slackErr("channel_not_found")
}

func (s *Server) knownUser(id string) bool {
	if _, ok := s.users[id]; ok {
		return true
	}
	return !s.directory && (strings.HasPrefix(id, "U") || strings.HasPrefix(id, "W"))
}

func topicJSON(value, creator string, at time.Time) map[string]any {
	var last int64
	if !at.IsZero() {
		last = at.Unix()
	}
	return map[string]any{"value": value, "creator": creator, "last_set": last}
}

func (c *channelState) json() map[string]any {
	if c.IsIM {
		user := ""
		if len(c.Members) > 1 {
			user = c.Members[1]
		}
		return map[string]any{
			"id": c.ID, "created": c.Created.Unix(), "is_im": true, "is_org_shared": false,
			"user": user, "is_user_deleted": false, "priority": 0,
		}
	}
	return map[string]any{
		"id":                    c.ID,
		"name":                  c.Name,
		"is_channel":            true,
		"is_group":              false,
		"is_im":                 false,
		"is_mpim":               false,
		"is_private":            c.IsPrivate,
		"created":               c.Created.Unix(),
		"creator":               c.Creator,
		"is_archived":           c.IsArchived,
		"is_general":            false,
		"unlinked":              0,
		"name_normalized":       c.Name,
		"is_shared":             false,
		"is_ext_shared":         false,
		"is_org_shared":         false,
		"pending_shared":        []string{},
		"is_pending_ext_shared": false,
		"is_member":             slices.Contains(c.Members, BotUserID),
		"last_read":             "0000000000.000000",
		"latest":                nil,
		"unread_count":          0,
		"unread_count_display":  0,
		"topic":                 topicJSON(c.Topic, c.topicSetBy, c.topicSetAt),
		"purpose":               topicJSON(c.Purpose, "", time.Time{}),
		"previous_names":        []string{},
		"priority":              0,
	}
}

func (u *User) json() map[string]any {
	tz := u.TZ
	if tz == "" {
		tz = "UTC"
	}
	display := u.DisplayName
	profile := map[string]any{
		"real_name":               u.RealName,
		"real_name_normalized":    u.RealName,
		"display_name":            display,
		"display_name_normalized": display,
		"team":                    TeamID,
	}
	if u.Email != "" {
		profile["email"] = u.Email
	}
	out := map[string]any{
		"id":        u.ID,
		"team_id":   TeamID,
		"name":      u.Name,
		"deleted":   u.Deleted,
		"real_name": u.RealName,
		"tz":        tz,
		"is_admin":  false,
		"is_owner":  false,
		"is_bot":    u.IsBot,
		"updated":   time.Now().Unix(),
		"profile":   profile,
	}
	if u.IsBot {
		profile["bot_id"] = BotID
	}
	return out
}

func (m *Message) json() map[string]any {
	out := map[string]any{
		"type":   "message",
		"user":   m.User,
		"bot_id": BotID,
		"app_id": AppID,
		"text":   m.Text,
		"ts":     m.TS,
		"team":   TeamID,
	}
	if m.User == BotUserID {
		out["bot_profile"] = map[string]any{"id": BotID, "app_id": AppID, "name": BotName, "deleted": false, "team_id": TeamID}
	}
	if m.Blocks != nil {
		out["blocks"] = m.Blocks
	}
	if m.Attachments != nil {
		out["attachments"] = m.Attachments
	}
	if m.Metadata != nil {
		out["metadata"] = m.Metadata
	}
	if m.ThreadTS != "" {
		out["thread_ts"] = m.ThreadTS
	}
	if m.ReplyCount > 0 {
		out["thread_ts"] = m.TS
		out["reply_count"] = m.ReplyCount
	}
	if len(m.Versions) > 1 {
		out["edited"] = map[string]any{"user": m.User, "ts": fmt.Sprintf("%d.000000", m.Versions[len(m.Versions)-1].At.Unix())}
	}
	if m.Pinned {
		out["pinned_to"] = []string{m.Channel}
	}
	return out
}

// ---------------------------------------------------------------- auth

func (s *Server) authTest(*request) (map[string]any, *apiError) {
	return map[string]any{
		"url":                   "https://" + TeamDom + ".slack.com/",
		"team":                  TeamName,
		"user":                  BotName,
		"team_id":               TeamID,
		"user_id":               BotUserID,
		"bot_id":                BotID,
		"is_enterprise_install": false,
	}, nil
}

func (s *Server) appsConnectionsOpen(*request) (map[string]any, *apiError) {
	return map[string]any{"url": s.sockets.url()}, nil
}

// ---------------------------------------------------------------- conversations

// validateChannelName applies Slack's naming rule: lowercase letters,
// digits, hyphens and underscores, at most 80 characters.
func validateChannelName(name string) *apiError {
	switch {
	case name == "":
		return slackErr("invalid_name_required")
	case len([]rune(name)) > 80:
		return slackErr("invalid_name_maxlength")
	}
	letters := false
	for _, r := range name {
		switch {
		case r >= 'a' && r <= 'z', r >= '0' && r <= '9':
			letters = true
		case r == '-' || r == '_':
		default:
			return slackErr("invalid_name_specials")
		}
	}
	if !letters {
		return slackErr("invalid_name_punctuation")
	}
	return nil
}

func (s *Server) nameTaken(name string) bool {
	for _, c := range s.channels {
		if !c.IsIM && c.Name == name {
			return true
		}
	}
	return false
}

func (s *Server) conversationsCreate(r *request) (map[string]any, *apiError) {
	name := r.get("name")
	if e := validateChannelName(name); e != nil {
		return nil, e
	}
	if s.nameTaken(name) {
		return nil, slackErr("name_taken")
	}
	c := &channelState{
		Channel: Channel{
			ID:        s.nextID("C"),
			Name:      name,
			IsPrivate: r.bool("is_private"),
			Created:   time.Now(),
			Creator:   BotUserID,
			Members:   []string{BotUserID},
		},
		byTS: map[string]*Message{},
	}
	s.putChannel(c)
	return map[string]any{"channel": c.json()}, nil
}

// existing resolves the channel parameter to a non-DM channel.
func (s *Server) existing(r *request) (*channelState, *apiError) {
	c := s.lookupChannel(r.get("channel"))
	if c == nil {
		return nil, slackErr("channel_not_found")
	}
	return c, nil
}

func (s *Server) conversationsInfo(r *request) (map[string]any, *apiError) {
	c, e := s.existing(r)
	if e != nil {
		return nil, e
	}
	out := c.json()
	if r.bool("include_num_members") {
		out["num_members"] = len(c.Members)
	}
	return map[string]any{"channel": out}, nil
}

func (s *Server) conversationsSetTopic(r *request) (map[string]any, *apiError) {
	c, e := s.existing(r)
	if e != nil {
		return nil, e
	}
	if c.IsArchived {
		return nil, slackErr("is_archived")
	}
	topic := r.get("topic")
	if len([]rune(topic)) > 250 {
		return nil, slackErr("too_long")
	}
	c.Topic, c.topicSetBy, c.topicSetAt = topic, BotUserID, time.Now()
	return map[string]any{"channel": c.json()}, nil
}

func (s *Server) conversationsSetPurpose(r *request) (map[string]any, *apiError) {
	c, e := s.existing(r)
	if e != nil {
		return nil, e
	}
	if c.IsArchived {
		return nil, slackErr("is_archived")
	}
	c.Purpose = r.get("purpose")
	return map[string]any{"channel": c.json()}, nil
}

func splitList(v string) []string {
	var out []string
	for _, p := range strings.Split(v, ",") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}

func (s *Server) conversationsInvite(r *request) (map[string]any, *apiError) {
	c, e := s.existing(r)
	if e != nil {
		return nil, e
	}
	if c.IsArchived {
		return nil, slackErr("is_archived")
	}
	users := splitList(r.get("users"))
	if len(users) == 0 {
		return nil, slackErr("no_user")
	}
	var errs []map[string]any
	var ok []string
	for _, u := range users {
		code := ""
		switch {
		case u == BotUserID:
			code = "cant_invite_self"
		case !s.knownUser(u):
			code = "user_not_found"
		case slices.Contains(c.Members, u) || slices.Contains(ok, u):
			code = "already_in_channel"
		}
		if code != "" {
			errs = append(errs, map[string]any{"user": u, "ok": false, "error": code})
			continue
		}
		ok = append(ok, u)
	}
	force := r.bool("force")
	if len(errs) > 0 && !force {
		return nil, &apiError{code: errs[0]["error"].(string), extra: map[string]any{"errors": errs}}
	}
	c.Members = append(c.Members, ok...)
	out := map[string]any{"channel": c.json()}
	if len(errs) > 0 {
		out["errors"] = errs
	}
	return out, nil
}

func (s *Server) conversationsArchive(r *request) (map[string]any, *apiError) {
	c, e := s.existing(r)
	if e != nil {
		return nil, e
	}
	if c.IsIM {
		return nil, slackErr("method_not_supported_for_channel_type")
	}
	if c.IsArchived {
		return nil, slackErr("already_archived")
	}
	c.IsArchived = true
	return map[string]any{}, nil
}

func (s *Server) conversationsJoin(r *request) (map[string]any, *apiError) {
	c, e := s.existing(r)
	if e != nil {
		return nil, e
	}
	switch {
	case c.IsIM || c.IsPrivate:
		return nil, slackErr("method_not_supported_for_channel_type")
	case c.IsArchived:
		return nil, slackErr("is_archived")
	}
	out := map[string]any{}
	if slices.Contains(c.Members, BotUserID) {
		out["warning"] = "already_in_channel"
		out["response_metadata"] = map[string]any{"warnings": []string{"already_in_channel"}}
	} else {
		c.Members = append(c.Members, BotUserID)
	}
	out["channel"] = c.json()
	return out, nil
}

func (s *Server) conversationsMembers(r *request) (map[string]any, *apiError) {
	c, e := s.existing(r)
	if e != nil {
		return nil, e
	}
	if c.IsPrivate && !slices.Contains(c.Members, BotUserID) {
		return nil, slackErr("channel_not_found") // Slack hides private channels the bot is not in
	}
	// Paginated as Slack does: limit (default 100, at most 1000) members a
	// page, an opaque next_cursor while more remain.
	limit := 100
	if v := r.get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 {
			return nil, slackErr("invalid_limit")
		}
		limit = min(n, 1000)
	}
	start := 0
	if cur := r.get("cursor"); cur != "" {
		raw, err := base64.StdEncoding.DecodeString(cur)
		n, perr := strconv.Atoi(strings.TrimPrefix(string(raw), "offset:"))
		if err != nil || perr != nil || !strings.HasPrefix(string(raw), "offset:") || n < 0 || n > len(c.Members) {
			return nil, slackErr("invalid_cursor")
		}
		start = n
	}
	end := min(start+limit, len(c.Members))
	next := ""
	if end < len(c.Members) {
		next = base64.StdEncoding.EncodeToString([]byte("offset:" + strconv.Itoa(end)))
	}
	return map[string]any{
		"members":           slices.Clone(c.Members[start:end]),
		"response_metadata": map[string]any{"next_cursor": next},
	}, nil
}

func (s *Server) conversationsOpen(r *request) (map[string]any, *apiError) {
	if ch := r.get("channel"); ch != "" {
		c := s.lookupChannel(ch)
		if c == nil {
			return nil, slackErr("channel_not_found")
		}
		return map[string]any{"channel": map[string]any{"id": c.ID}}, nil
	}
	users := splitList(r.get("users"))
	if len(users) != 1 {
		return nil, slackErr("not_supported_by_fake")
	}
	c, e := s.openDM(users[0])
	if e != nil {
		return nil, e
	}
	return map[string]any{"channel": map[string]any{"id": c.ID}}, nil
}

// historyLimit returns the limit parameter, Slack's default 100.
func historyLimit(r *request) int {
	if n, err := strconv.Atoi(r.get("limit")); err == nil && n > 0 {
		return n
	}
	return 100
}

func (s *Server) conversationsHistory(r *request) (map[string]any, *apiError) {
	c, e := s.existing(r)
	if e != nil {
		return nil, e
	}
	oldest, latest := r.get("oldest"), r.get("latest")
	inclusive := r.bool("inclusive")
	var msgs []any
	// Newest first, top-level messages only, as Slack returns them.
	for i := len(c.messages) - 1; i >= 0; i-- {
		m := c.messages[i]
		if m.Deleted || (m.ThreadTS != "" && m.ThreadTS != m.TS) {
			continue
		}
		if oldest != "" && (m.TS < oldest || (!inclusive && m.TS == oldest)) {
			continue
		}
		if latest != "" && (m.TS > latest || (!inclusive && m.TS == latest)) {
			continue
		}
		j := m.json()
		if !r.bool("include_all_metadata") {
			delete(j, "metadata")
		}
		msgs = append(msgs, j)
	}
	limit := historyLimit(r)
	hasMore := len(msgs) > limit
	if hasMore {
		msgs = msgs[:limit]
	}
	if msgs == nil {
		msgs = []any{}
	}
	return map[string]any{
		"messages":          msgs,
		"has_more":          hasMore,
		"pin_count":         len(c.pins),
		"response_metadata": map[string]any{"next_cursor": ""},
	}, nil
}

func (s *Server) conversationsReplies(r *request) (map[string]any, *apiError) {
	c, e := s.existing(r)
	if e != nil {
		return nil, e
	}
	ts := r.get("ts")
	// ts may be the parent's or any reply's: Slack answers with the thread
	// (the parent first) either way.
	if m := c.byTS[ts]; m != nil && m.ThreadTS != "" && m.ThreadTS != ts {
		ts = m.ThreadTS
	}
	parent := c.byTS[ts]
	if parent == nil || parent.Deleted {
		return nil, slackErr("thread_not_found")
	}
	msgs := []any{parent.json()}
	for _, m := range c.messages {
		if !m.Deleted && m.ThreadTS == ts && m.TS != ts {
			msgs = append(msgs, m.json())
		}
	}
	return map[string]any{"messages": msgs, "has_more": false, "response_metadata": map[string]any{"next_cursor": ""}}, nil
}

// ---------------------------------------------------------------- chat

// content reads text, blocks, attachments and metadata of a chat call.
func content(r *request) (text string, blocks, attachments, metadata json.RawMessage, e *apiError) {
	text = r.get("text")
	if blocks, e = rawJSON(r, "blocks", &[]json.RawMessage{}, "invalid_blocks"); e != nil {
		return "", nil, nil, nil, e
	}
	if e = checkBlocks(blocks); e != nil {
		return "", nil, nil, nil, e
	}
	if len(text) > MaxMessageText {
		return "", nil, nil, nil, slackErr("msg_too_long")
	}
	if attachments, e = rawJSON(r, "attachments", &[]json.RawMessage{}, "invalid_attachments"); e != nil {
		return "", nil, nil, nil, e
	}
	if metadata, e = rawJSON(r, "metadata", &map[string]json.RawMessage{}, "invalid_metadata_format"); e != nil {
		return "", nil, nil, nil, e
	}
	return text, blocks, attachments, metadata, nil
}

// postContent is content of a new message, which must say something in
// its text, blocks or attachments (no_text).
func postContent(r *request) (text string, blocks, attachments, metadata json.RawMessage, e *apiError) {
	text, blocks, attachments, metadata, e = content(r)
	if e != nil {
		return "", nil, nil, nil, e
	}
	if text == "" && emptyJSONArray(blocks) && emptyJSONArray(attachments) {
		return "", nil, nil, nil, slackErr("no_text")
	}
	return text, blocks, attachments, metadata, nil
}

// rawJSON reads the JSON parameter name, nil when it is absent; it answers
// the Slack error code when the value does not decode into shape (a pointer
// to an array or an object).
func rawJSON(r *request, name string, shape any, code string) (json.RawMessage, *apiError) {
	v, ok := r.raw(name)
	if !ok {
		return nil, nil
	}
	if json.Unmarshal(v, shape) != nil {
		return nil, slackErr(code)
	}
	return v, nil
}

// liveMessage is the channel of the request and its message whose ts is
// the parameter tsParam (channel_not_found, message_not_found).
func (s *Server) liveMessage(r *request, tsParam string) (*channelState, *Message, *apiError) {
	c, e := s.existing(r)
	if e != nil {
		return nil, nil, e
	}
	m, e := c.live(r.get(tsParam))
	if e != nil {
		return nil, nil, e
	}
	return c, m, nil
}

// live is the message at ts in c, unless there is none or it was deleted
// (message_not_found).
func (c *channelState) live(ts string) (*Message, *apiError) {
	m := c.byTS[ts]
	if m == nil || m.Deleted {
		return nil, slackErr("message_not_found")
	}
	return m, nil
}

func emptyJSONArray(b json.RawMessage) bool {
	var arr []json.RawMessage
	return b == nil || (json.Unmarshal(b, &arr) == nil && len(arr) == 0)
}

func (s *Server) chatPostMessage(r *request) (map[string]any, *apiError) {
	c, e := s.channelFor(r.get("channel"))
	if e != nil {
		return nil, e
	}
	if !c.visible() {
		return nil, slackErr("channel_not_found")
	}
	if c.IsArchived {
		return nil, slackErr("is_archived")
	}
	text, blocks, atts, meta, e := postContent(r)
	if e != nil {
		return nil, e
	}
	if len(text) > 40000 {
		return nil, slackErr("msg_too_long")
	}
	now := time.Now()
	m := &Message{
		Channel:     c.ID,
		TS:          s.nextTS(),
		ThreadTS:    r.get("thread_ts"),
		User:        BotUserID,
		Text:        text,
		Blocks:      blocks,
		Attachments: atts,
		Metadata:    meta,
		Params:      cloneValues(r.params),
		Versions:    []MessageVersion{{Text: text, Blocks: blocks, Metadata: meta, At: now}},
	}
	m.Params.Del("token")
	if m.ThreadTS != "" {
		if p := c.byTS[m.ThreadTS]; p != nil && p.ThreadTS == "" {
			p.ReplyCount++
		}
	}
	c.messages = append(c.messages, m)
	c.byTS[m.TS] = m
	return map[string]any{"channel": c.ID, "ts": m.TS, "message": m.json()}, nil
}

func (s *Server) chatUpdate(r *request) (map[string]any, *apiError) {
	c, m, e := s.liveMessage(r, "ts")
	if e != nil {
		return nil, e
	}
	if m.User != BotUserID {
		return nil, slackErr("cant_update_message")
	}
	text, blocks, atts, meta, e := content(r)
	if e != nil {
		return nil, e
	}
	if len(text) > 40000 {
		return nil, slackErr("msg_too_long")
	}
	// Slack keeps previous blocks/attachments/metadata unless the field is sent.
	if r.has("text") {
		m.Text = text
	}
	if blocks != nil {
		m.Blocks = blocks
	}
	if atts != nil {
		m.Attachments = atts
	}
	if meta != nil {
		m.Metadata = meta
	}
	m.Versions = append(m.Versions, MessageVersion{Text: m.Text, Blocks: m.Blocks, Metadata: m.Metadata, At: time.Now()})
	msg := m.json()
	return map[string]any{"channel": c.ID, "ts": m.TS, "text": m.Text, "message": msg}, nil
}

func (s *Server) chatDelete(r *request) (map[string]any, *apiError) {
	c, m, e := s.liveMessage(r, "ts")
	if e != nil {
		return nil, e
	}
	m.Deleted = true
	return map[string]any{"channel": c.ID, "ts": m.TS}, nil
}

func (s *Server) chatPostEphemeral(r *request) (map[string]any, *apiError) {
	c, e := s.channelFor(r.get("channel"))
	if e != nil {
		return nil, e
	}
	if !c.visible() {
		return nil, slackErr("channel_not_found")
	}
	user := r.get("user")
	if user == "" || !s.knownUser(user) {
		return nil, slackErr("user_not_found")
	}
	text, blocks, _, _, e := postContent(r)
	if e != nil {
		return nil, e
	}
	ts := s.nextTS()
	p := cloneValues(r.params)
	p.Del("token")
	s.ephemerals = append(s.ephemerals, Ephemeral{
		Channel: c.ID, User: user, TS: ts, ThreadTS: r.get("thread_ts"), Text: text, Blocks: blocks, Params: p,
	})
	return map[string]any{"message_ts": ts}, nil
}

func (s *Server) chatGetPermalink(r *request) (map[string]any, *apiError) {
	c, m, e := s.liveMessage(r, "message_ts")
	if e != nil {
		return nil, e
	}
	link := fmt.Sprintf("https://%s.slack.com/archives/%s/p%s", TeamDom, c.ID, strings.ReplaceAll(m.TS, ".", ""))
	return map[string]any{"channel": c.ID, "permalink": link}, nil
}

func (s *Server) pinsAdd(r *request) (map[string]any, *apiError) {
	c, e := s.existing(r)
	if e != nil {
		return nil, e
	}
	ts := r.get("timestamp")
	if ts == "" {
		return nil, slackErr("no_item_specified")
	}
	m, e := c.live(ts)
	if e != nil {
		return nil, e
	}
	if m.Pinned {
		return nil, slackErr("already_pinned")
	}
	m.Pinned = true
	c.pins = append(c.pins, ts)
	return map[string]any{}, nil
}

// ---------------------------------------------------------------- users

func (s *Server) usersInfo(r *request) (map[string]any, *apiError) {
	u := s.users[r.get("user")]
	if u == nil {
		return nil, slackErr("user_not_found")
	}
	return map[string]any{"user": u.json()}, nil
}

func (s *Server) usersLookupByEmail(r *request) (map[string]any, *apiError) {
	email := strings.ToLower(r.get("email"))
	for _, id := range s.userOrder {
		if u := s.users[id]; email != "" && strings.ToLower(u.Email) == email {
			return map[string]any{"user": u.json()}, nil
		}
	}
	return nil, slackErr("users_not_found")
}

func (s *Server) usergroupsUsersList(r *request) (map[string]any, *apiError) {
	members, ok := s.groups[r.get("usergroup")]
	if !ok {
		return nil, slackErr("no_such_subteam")
	}
	return map[string]any{"users": slices.Clone(members)}, nil
}

// ---------------------------------------------------------------- views

func (s *Server) viewJSON(v *View) map[string]any {
	var obj map[string]any
	_ = json.Unmarshal(v.Raw, &obj)
	if obj == nil {
		obj = map[string]any{}
	}
	out := map[string]any{
		"id":                    v.ID,
		"team_id":               TeamID,
		"type":                  "modal",
		"blocks":                []any{},
		"private_metadata":      "",
		"callback_id":           "",
		"state":                 map[string]any{"values": map[string]any{}},
		"hash":                  v.Hash,
		"clear_on_close":        false,
		"notify_on_close":       false,
		"root_view_id":          v.ID,
		"previous_view_id":      nil,
		"app_id":                AppID,
		"external_id":           v.ExternalID,
		"app_installed_team_id": TeamID,
		"bot_id":                BotID,
	}
	for _, k := range []string{"type", "title", "close", "submit", "blocks", "private_metadata", "callback_id", "clear_on_close", "notify_on_close"} {
		if val, ok := obj[k]; ok {
			out[k] = val
		}
	}
	return out
}

// viewParam decodes and validates the view parameter.
func viewParam(r *request) (json.RawMessage, map[string]any, *apiError) {
	raw, ok := r.raw("view")
	if !ok {
		return nil, nil, slackErr("invalid_arguments")
	}
	var obj map[string]any
	if json.Unmarshal(raw, &obj) != nil {
		return nil, nil, slackErr("invalid_arguments")
	}
	if t, _ := obj["type"].(string); t != "modal" {
		return nil, nil, slackErr("invalid_arguments")
	}
	return raw, obj, nil
}

func str(obj map[string]any, k string) string { v, _ := obj[k].(string); return v }

func (s *Server) viewsOpen(r *request) (map[string]any, *apiError) {
	trigger := r.get("trigger_id")
	switch {
	case trigger == "":
		return nil, slackErr("invalid_arguments")
	case s.expired[trigger]:
		return nil, slackErr("expired_trigger_id")
	case !s.issued[trigger].IsZero() && s.now().Sub(s.issued[trigger]) > TriggerLifetime:
		return nil, slackErr("expired_trigger_id")
	case s.triggers != nil:
		valid, known := s.triggers[trigger]
		if !known {
			return nil, slackErr("invalid_trigger_id")
		}
		if !valid {
			return nil, slackErr("exchanged_trigger_id")
		}
	}
	raw, obj, e := viewParam(r)
	if e != nil {
		return nil, e
	}
	if s.triggers != nil {
		s.triggers[trigger] = false
	}
	v := &View{
		ID:              s.nextID("V"),
		TriggerID:       trigger,
		ExternalID:      str(obj, "external_id"),
		CallbackID:      str(obj, "callback_id"),
		PrivateMetadata: str(obj, "private_metadata"),
		Raw:             raw,
	}
	v.Hash = fmt.Sprintf("%d.%s", time.Now().Unix(), strings.ToLower(v.ID))
	s.views[v.ID] = v
	s.viewOrder = append(s.viewOrder, v.ID)
	return map[string]any{"view": s.viewJSON(v)}, nil
}

func (s *Server) viewsUpdate(r *request) (map[string]any, *apiError) {
	var v *View
	if id := r.get("view_id"); id != "" {
		v = s.views[id]
	} else if ext := r.get("external_id"); ext != "" {
		for _, cand := range s.views {
			if cand.ExternalID == ext {
				v = cand
			}
		}
	} else {
		return nil, slackErr("invalid_arguments")
	}
	if v == nil {
		return nil, slackErr("not_found")
	}
	if h := r.get("hash"); h != "" && h != v.Hash {
		return nil, slackErr("hash_conflict")
	}
	raw, obj, e := viewParam(r)
	if e != nil {
		return nil, e
	}
	v.Raw = raw
	v.CallbackID = str(obj, "callback_id")
	v.PrivateMetadata = str(obj, "private_metadata")
	v.Updates++
	v.Hash = fmt.Sprintf("%d.%s%d", time.Now().Unix(), strings.ToLower(v.ID), v.Updates)
	return map[string]any{"view": s.viewJSON(v)}, nil
}

// ---------------------------------------------------------------- files

func (s *Server) filesGetUploadURLExternal(r *request) (map[string]any, *apiError) {
	name := r.get("filename")
	length, err := strconv.Atoi(r.get("length"))
	if name == "" || err != nil || length <= 0 {
		return nil, slackErr("invalid_arguments")
	}
	id := s.nextID("F")
	s.uploads[id] = &Upload{FileID: id, Filename: name, Length: length}
	s.uploadSeq = append(s.uploadSeq, id)
	return map[string]any{
		"upload_url": s.hs.URL + "/upload/v1/" + id,
		"file_id":    id,
	}, nil
}

func (s *Server) filesCompleteUploadExternal(r *request) (map[string]any, *apiError) {
	var files []struct {
		ID    string `json:"id"`
		Title string `json:"title"`
	}
	raw, ok := r.raw("files")
	if !ok || json.Unmarshal(raw, &files) != nil || len(files) == 0 {
		return nil, slackErr("invalid_arguments")
	}
	var channels []string
	if ch := r.get("channel_id"); ch != "" {
		channels = append(channels, ch)
	}
	channels = append(channels, splitList(r.get("channels"))...)
	for _, ch := range channels {
		if s.lookupChannel(ch) == nil {
			return nil, slackErr("channel_not_found")
		}
	}
	for _, f := range files {
		u := s.uploads[f.ID]
		if u == nil || !u.Uploaded {
			return nil, slackErr("file_not_found")
		}
	}
	out := make([]map[string]any, 0, len(files))
	for _, f := range files {
		u := s.uploads[f.ID]
		u.Title = f.Title
		if u.Title == "" {
			u.Title = u.Filename
		}
		u.Completed = true
		u.Channels = slices.Clone(channels)
		u.ThreadTS = r.get("thread_ts")
		u.InitialComment = r.get("initial_comment")
		out = append(out, map[string]any{"id": u.FileID, "title": u.Title})
	}
	return map[string]any{"files": out}, nil
}

// conversationsList lists channels as Slack does: the types asked for
// (public_channel by default; private channels only where the bot is a
// member), archived ones unless exclude_archived, at most limit (default
// 100, at most 1000) per page, with an opaque next_cursor.
func (s *Server) conversationsList(r *request) (map[string]any, *apiError) {
	types := map[string]bool{}
	for _, t := range strings.Split(r.get("types"), ",") {
		if t = strings.TrimSpace(t); t != "" {
			types[t] = true
		}
	}
	if len(types) == 0 {
		types["public_channel"] = true
	}
	limit := 100
	if v := r.get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 {
			return nil, slackErr("invalid_limit")
		}
		limit = min(n, 1000)
	}
	start := 0
	if cur := r.get("cursor"); cur != "" {
		n, err := strconv.Atoi(strings.TrimPrefix(cur, "cursor-"))
		if err != nil || n < 0 || n > len(s.chanOrder) {
			return nil, slackErr("invalid_cursor")
		}
		start = n
	}
	var out []any
	next := ""
	for i := start; i < len(s.chanOrder); i++ {
		c := s.channels[s.chanOrder[i]]
		switch {
		case c.IsIM:
			continue
		case c.IsPrivate && (!types["private_channel"] || !slices.Contains(c.Members, BotUserID)):
			continue
		case !c.IsPrivate && !types["public_channel"]:
			continue
		case c.IsArchived && r.bool("exclude_archived"):
			continue
		}
		if len(out) == limit {
			next = fmt.Sprintf("cursor-%d", i)
			break
		}
		out = append(out, c.json())
	}
	return map[string]any{"channels": out, "response_metadata": map[string]any{"next_cursor": next}}, nil
}
