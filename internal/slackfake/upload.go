package slackfake

import (
	"bytes"
	"fmt"
	"io"
	"mime"
	"mime/multipart"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// serveUpload receives the file bytes POSTed to an upload_url returned by
// files.getUploadURLExternal. Slack accepts either a raw body or a
// multipart form (slack-go sends multipart with the field "file"), and
// answers "OK - <bytes>" as plain text.
func (s *Server) serveUpload(w http.ResponseWriter, r *http.Request) {
	id := r.URL.Path[strings.LastIndex(r.URL.Path, "/")+1:]
	body, _ := io.ReadAll(io.LimitReader(r.Body, 64<<20))
	c := Call{
		Method: MethodUpload,
		Params: url.Values{"file_id": {id}},
		Body:   body,
		Header: r.Header.Clone(),
		Token:  bearer(r.Header),
		Time:   time.Now(),
	}

	if s.faulted(w, r, &c, MethodUpload) {
		return
	}

	content, filename := body, ""
	if ct, params, err := mime.ParseMediaType(r.Header.Get("Content-Type")); err == nil && ct == "multipart/form-data" {
		content, filename = nil, ""
		mr := multipart.NewReader(bytes.NewReader(body), params["boundary"])
		for {
			p, err := mr.NextPart()
			if err != nil {
				break
			}
			if p.FileName() != "" || p.FormName() == "file" {
				content, _ = io.ReadAll(p)
				filename = p.FileName()
				break
			}
		}
	}

	s.mu.Lock()
	defer s.mu.Unlock()
	u := s.uploads[id]
	if r.Method != http.MethodPost || u == nil || u.Completed {
		c.Status = http.StatusNotFound
		c.Error = "file_not_found"
		s.record(c)
		http.Error(w, "Not Found", http.StatusNotFound)
		return
	}
	if filename != "" {
		c.Params.Set("filename", filename)
	}
	u.Content = bytes.Clone(content)
	u.Uploaded = true
	c.Status = http.StatusOK
	s.record(c)
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	_, _ = fmt.Fprintf(w, "OK - %d", len(content))
}
