package slackfake

import (
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// Response URLs. Every slash command and interaction carries a
// response_url where the app may answer the person who sent it: an
// ephemeral message (the default response_type) or one in the channel,
// shown wherever the request came from, even a DM or a private channel the
// bot is not in, where chat.postEphemeral answers channel_not_found. Slack
// accepts at most ResponseURLUses posts to one URL, within
// ResponseURLLifetime of the request.
const (
	ResponseURLUses     = 5
	ResponseURLLifetime = 30 * time.Minute

	// MethodResponseURL is the pseudo-method under which posts to a
	// response_url are recorded and can be faulted.
	MethodResponseURL = "response_url"
)

// Response is what an app posted to a response_url.
type Response struct {
	Channel, User   string // of the request the URL was issued for
	ResponseType    string // "ephemeral" (also when unset) or "in_channel"
	Text            string
	Blocks          json.RawMessage
	ThreadTS        string
	ReplaceOriginal bool
	DeleteOriginal  bool
}

// responseURL is one issued URL and what it has been used for.
type responseURL struct {
	channel, user string
	issued        time.Time
	used          int
}

// ResponseURL issues the response_url of a request user sends from
// channel (any channel id: the bot need not be in it), for a slash command
// or interaction built with the request builders. Posts to it are read
// back with Responses.
func (s *Server) ResponseURL(channel, user string) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	id := s.nextID("R")
	s.responseURLs[id] = &responseURL{channel: channel, user: user, issued: s.now()}
	return s.hs.URL + "/response/" + id
}

// Responses returns what was posted to the response URLs issued for user
// in channel, oldest first.
func (s *Server) Responses(channel, user string) []Response {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []Response
	for _, r := range s.responses {
		if r.Channel == channel && r.User == user {
			out = append(out, r)
		}
	}
	return out
}

// serveResponse receives a post to a response_url: JSON with text, blocks,
// response_type, replace_original, delete_original and thread_ts. It
// answers 200 "ok"; an unknown URL, one used ResponseURLUses times or one
// older than ResponseURLLifetime answers 404; a body that is not JSON, says
// nothing or breaks Block Kit's limits answers 400 (with Slack's error
// code as the body).
func (s *Server) serveResponse(w http.ResponseWriter, r *http.Request) {
	id := strings.TrimPrefix(r.URL.Path, "/response/")
	body, _ := io.ReadAll(io.LimitReader(r.Body, 1<<20))
	c := Call{Method: MethodResponseURL, Params: url.Values{"response_url": {id}}, Body: body,
		Header: r.Header.Clone(), Time: time.Now()}
	if s.faulted(w, r, &c, MethodResponseURL) {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	answer := func(status int, code string) {
		c.Status = status
		if status != http.StatusOK {
			c.Error = code
		}
		s.record(c)
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		w.WriteHeader(status)
		_, _ = io.WriteString(w, code)
	}
	u := s.responseURLs[id]
	switch {
	case r.Method != http.MethodPost || u == nil:
		answer(http.StatusNotFound, "no_such_url")
		return
	case s.now().Sub(u.issued) > ResponseURLLifetime:
		answer(http.StatusNotFound, "expired_url")
		return
	case u.used >= ResponseURLUses:
		answer(http.StatusNotFound, "used_url")
		return
	}
	var msg struct {
		Text            string          `json:"text"`
		Blocks          json.RawMessage `json:"blocks"`
		ResponseType    string          `json:"response_type"`
		ThreadTS        string          `json:"thread_ts"`
		ReplaceOriginal bool            `json:"replace_original"`
		DeleteOriginal  bool            `json:"delete_original"`
	}
	if err := json.Unmarshal(body, &msg); err != nil {
		answer(http.StatusBadRequest, "invalid_payload")
		return
	}
	if e := checkBlocks(msg.Blocks); e != nil {
		answer(http.StatusBadRequest, e.code)
		return
	}
	if len(msg.Text) > MaxMessageText {
		answer(http.StatusBadRequest, "msg_too_long")
		return
	}
	if msg.Text == "" && emptyJSONArray(msg.Blocks) && !msg.DeleteOriginal {
		answer(http.StatusBadRequest, "no_text")
		return
	}
	if msg.ResponseType == "" {
		msg.ResponseType = "ephemeral"
	}
	if msg.ResponseType != "ephemeral" && msg.ResponseType != "in_channel" {
		answer(http.StatusBadRequest, "invalid_response_type")
		return
	}
	u.used++
	s.responses = append(s.responses, Response{Channel: u.channel, User: u.user, ResponseType: msg.ResponseType,
		Text: msg.Text, Blocks: msg.Blocks, ThreadTS: msg.ThreadTS,
		ReplaceOriginal: msg.ReplaceOriginal, DeleteOriginal: msg.DeleteOriginal})
	answer(http.StatusOK, "ok")
}
