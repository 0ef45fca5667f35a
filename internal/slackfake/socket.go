package slackfake

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/gorilla/websocket"
)

// Socket Mode: apps.connections.open (with the app-level token) returns a
// ws:// URL to this server. A client that connects gets the documented
// "hello" message; tests then push envelopes with SocketSend and read the
// client's acknowledgements with SocketAck / WaitSocketAck.

// MaxSocketResponse is the size from which Slack drops a Socket Mode
// response (an acknowledgement with its payload); the fake ignores one too.
const MaxSocketResponse = 20 * 1024

// SocketAck is an acknowledgement a Socket Mode client sent back.
type SocketAck struct {
	EnvelopeID string
	Payload    json.RawMessage // nil when the ack carried none
	Raw        json.RawMessage
	At         time.Time
}

type socketConn struct {
	ws *websocket.Conn
	wm sync.Mutex // gorilla allows one writer at a time
}

func (c *socketConn) write(v any) error {
	c.wm.Lock()
	defer c.wm.Unlock()
	_ = c.ws.SetWriteDeadline(time.Now().Add(5 * time.Second))
	return c.ws.WriteJSON(v)
}

type socketHub struct {
	s        *Server
	upgrader websocket.Upgrader

	mu    sync.Mutex
	conns []*socketConn
	acks  map[string]SocketAck
	seq   int
	wg    sync.WaitGroup
}

func newSocketHub(s *Server) *socketHub {
	return &socketHub{
		s:        s,
		upgrader: websocket.Upgrader{CheckOrigin: func(*http.Request) bool { return true }},
		acks:     map[string]SocketAck{},
	}
}

func (h *socketHub) url() string {
	return "ws" + strings.TrimPrefix(h.s.hs.URL, "http") + "/socket?ticket=fake"
}

func (h *socketHub) serve(w http.ResponseWriter, r *http.Request) {
	ws, err := h.upgrader.Upgrade(w, r, nil)
	if err != nil {
		return
	}
	c := &socketConn{ws: ws}
	h.mu.Lock()
	h.conns = append(h.conns, c)
	n := len(h.conns)
	h.mu.Unlock()
	h.s.notify()

	_ = c.write(map[string]any{
		"type":            "hello",
		"num_connections": n,
		"connection_info": map[string]any{"app_id": AppID},
		"debug_info": map[string]any{
			"host": "slackfake", "build_number": 1, "approximate_connection_time": 18060,
		},
	})

	// Slack pings the client; slack-go drops connections without pings
	// for 30 s.
	done := make(chan struct{})
	h.wg.Add(1)
	go func() {
		defer h.wg.Done()
		t := time.NewTicker(5 * time.Second)
		defer t.Stop()
		for {
			select {
			case <-done:
				return
			case <-t.C:
				c.wm.Lock()
				err := c.ws.WriteControl(websocket.PingMessage, []byte("ping"), time.Now().Add(time.Second))
				c.wm.Unlock()
				if err != nil {
					return
				}
			}
		}
	}()
	defer close(done)

	for {
		_, data, err := ws.ReadMessage()
		if err != nil {
			break
		}
		var ack struct {
			EnvelopeID string          `json:"envelope_id"`
			Payload    json.RawMessage `json:"payload"`
		}
		if len(data) >= MaxSocketResponse || json.Unmarshal(data, &ack) != nil || ack.EnvelopeID == "" {
			continue // Slack drops a response of 20 KB or more without a word
		}
		h.mu.Lock()
		h.acks[ack.EnvelopeID] = SocketAck{EnvelopeID: ack.EnvelopeID, Payload: ack.Payload, Raw: data, At: time.Now()}
		h.mu.Unlock()
		h.s.notify()
	}
	h.remove(c)
	_ = ws.Close()
	h.s.notify()
}

func (h *socketHub) remove(c *socketConn) {
	h.mu.Lock()
	defer h.mu.Unlock()
	for i, cc := range h.conns {
		if cc == c {
			h.conns = append(h.conns[:i], h.conns[i+1:]...)
			return
		}
	}
}

func (h *socketHub) closeAll() {
	h.mu.Lock()
	conns := append([]*socketConn(nil), h.conns...)
	h.mu.Unlock()
	for _, c := range conns {
		_ = c.ws.Close()
	}
	h.wg.Wait()
}

// notify wakes WaitUntil callers.
func (s *Server) notify() {
	s.mu.Lock()
	defer s.mu.Unlock()
	close(s.changed)
	s.changed = make(chan struct{})
}

// SocketConnections returns the number of open Socket Mode connections.
func (s *Server) SocketConnections() int {
	s.sockets.mu.Lock()
	defer s.sockets.mu.Unlock()
	return len(s.sockets.conns)
}

// SocketSend pushes an envelope of the given type ("events_api",
// "slash_commands" or "interactive") carrying payload to the most recent
// Socket Mode connection and returns its envelope_id. payload is marshalled
// to JSON (pass json.RawMessage for exact bytes).
func (s *Server) SocketSend(envelopeType string, payload any, acceptsResponsePayload bool) (string, error) {
	h := s.sockets
	h.mu.Lock()
	if len(h.conns) == 0 {
		h.mu.Unlock()
		return "", fmt.Errorf("slackfake: no socket mode connection")
	}
	c := h.conns[len(h.conns)-1]
	h.seq++
	id := fmt.Sprintf("fake-envelope-%04d", h.seq)
	h.mu.Unlock()
	env := map[string]any{
		"envelope_id":              id,
		"payload":                  payload,
		"type":                     envelopeType,
		"accepts_response_payload": acceptsResponsePayload,
	}
	if envelopeType == "events_api" {
		env["retry_attempt"] = 0
		env["retry_reason"] = ""
	}
	return id, c.write(env)
}

// SocketDisconnect sends {"type":"disconnect","reason":reason} to every
// connection (reason is "warning", "refresh_requested" or "link_disabled").
func (s *Server) SocketDisconnect(reason string) {
	h := s.sockets
	h.mu.Lock()
	conns := append([]*socketConn(nil), h.conns...)
	h.mu.Unlock()
	for _, c := range conns {
		_ = c.write(map[string]any{"type": "disconnect", "reason": reason, "debug_info": map[string]any{"host": "slackfake"}})
	}
}

// SocketAcked returns the acknowledgement for an envelope, if one arrived.
func (s *Server) SocketAcked(envelopeID string) (SocketAck, bool) {
	s.sockets.mu.Lock()
	defer s.sockets.mu.Unlock()
	a, ok := s.sockets.acks[envelopeID]
	return a, ok
}

// WaitSocketAck waits for the acknowledgement of an envelope.
func (s *Server) WaitSocketAck(envelopeID string, timeout time.Duration) (SocketAck, bool) {
	var a SocketAck
	ok := s.WaitUntil(timeout, func() bool {
		var got bool
		a, got = s.SocketAcked(envelopeID)
		return got
	})
	return a, ok
}
