package ghfake

import (
	"encoding/base64"
	"fmt"
	"hash/fnv"
	"maps"
	"net/http"
	"path"
	"sort"
	"strings"
	"time"
)

// SeedFile commits content at path on branch (which must exist) and returns
// the blob sha, as if pushed outside the API.
func (s *Server) SeedFile(branch, path, content string) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	head, ok := s.refs["heads/"+branch]
	if !ok {
		s.t.Fatalf("ghfake: SeedFile: no branch %q", branch)
	}
	b := blob{content: []byte(content), sha: blobSHA([]byte(content))}
	t := maps.Clone(s.commits[head])
	t[path] = b
	s.refs["heads/"+branch] = s.commit(t, "seed "+path)
	return b.sha
}

// File returns the content of path at the head of branch.
func (s *Server) File(branch, path string) (content string, ok bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	head, ok := s.refs["heads/"+branch]
	if !ok {
		return "", false
	}
	b, ok := s.commits[head][path]
	return string(b.content), ok
}

// Branches returns every branch name with the sha of its head commit.
func (s *Server) Branches() map[string]string {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := map[string]string{}
	for ref, sha := range s.refs {
		if name, ok := strings.CutPrefix(ref, "heads/"); ok {
			out[name] = sha
		}
	}
	return out
}

func (s *Server) userJSON(login string) map[string]any {
	h := fnv.New32a()
	h.Write([]byte(login))
	id := int64(h.Sum32()%1000000) + 1000
	return map[string]any{
		"login": login, "id": id, "node_id": fmt.Sprintf("U_fake%d", id),
		"avatar_url": fmt.Sprintf("https://avatars.githubusercontent.com/u/%d?v=4", id), "gravatar_id": "",
		"url": s.ts.URL + "/users/" + login, "html_url": "https://github.com/" + login,
		"type": "User", "site_admin": false,
	}
}

func (s *Server) getRepo(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, s.repoJSON())
}

func (s *Server) repoJSON() map[string]any {
	return map[string]any{
		"id": 1296269, "node_id": "R_fake", "name": s.repo, "full_name": s.owner + "/" + s.repo,
		"private": true, "owner": s.userJSON(s.owner), "html_url": s.htmlURL(""),
		"url": s.apiURL(""), "default_branch": s.defaultBranch, "visibility": "private",
		"has_issues": true, "archived": false, "disabled": false,
		"permissions": map[string]bool{"admin": false, "maintain": false, "push": true, "triage": true, "pull": true},
	}
}

func (s *Server) refJSON(ref, sha string) map[string]any {
	return map[string]any{
		"ref": "refs/" + ref, "node_id": "REF_fake" + sha[:8], "url": s.apiURL("/git/refs/%s", ref),
		"object": map[string]any{"type": "commit", "sha": sha, "url": s.apiURL("/git/commits/%s", sha)},
	}
}

func (s *Server) getRef(w http.ResponseWriter, r *http.Request) {
	ref := strings.TrimPrefix(r.PathValue("ref"), "refs/")
	s.mu.Lock()
	sha, ok := s.refs[ref]
	s.mu.Unlock()
	if !ok {
		notFound(w)
		return
	}
	writeJSON(w, http.StatusOK, s.refJSON(ref, sha))
}

// getRefs serves the legacy GET git/refs/{ref}: the ref itself on an exact
// match, otherwise every ref it prefixes.
func (s *Server) getRefs(w http.ResponseWriter, r *http.Request) {
	ref := strings.TrimPrefix(r.PathValue("ref"), "refs/")
	s.mu.Lock()
	defer s.mu.Unlock()
	if sha, ok := s.refs[ref]; ok {
		writeJSON(w, http.StatusOK, s.refJSON(ref, sha))
		return
	}
	var names []string
	for name := range s.refs {
		if strings.HasPrefix(name, strings.TrimSuffix(ref, "/")+"/") {
			names = append(names, name)
		}
	}
	if len(names) == 0 {
		notFound(w)
		return
	}
	sort.Strings(names)
	out := make([]map[string]any, 0, len(names))
	for _, name := range names {
		out = append(out, s.refJSON(name, s.refs[name]))
	}
	writeJSON(w, http.StatusOK, out)
}

func (s *Server) createRef(w http.ResponseWriter, r *http.Request) {
	var body struct {
		Ref string `json:"ref"`
		SHA string `json:"sha"`
	}
	if err := decodeBody(r, &body); err != nil {
		badJSON(w)
		return
	}
	ref, hasPrefix := strings.CutPrefix(body.Ref, "refs/")
	if !hasPrefix || !strings.Contains(ref, "/") || strings.HasSuffix(ref, "/") {
		writeJSON(w, http.StatusUnprocessableEntity, errorBody("Reference name is invalid", docsRoot))
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.commits[body.SHA]; !ok {
		writeJSON(w, http.StatusUnprocessableEntity, errorBody("Object does not exist", docsRoot))
		return
	}
	if _, ok := s.refs[ref]; ok {
		writeJSON(w, http.StatusUnprocessableEntity, errorBody("Reference already exists", docsRoot))
		return
	}
	s.refs[ref] = body.SHA
	w.Header().Set("Location", s.apiURL("/git/refs/%s", ref))
	writeJSON(w, http.StatusCreated, s.refJSON(ref, body.SHA))
}

// resolve finds the commit a ?ref= names: a branch (bare, heads/ or
// refs/heads/) or a commit sha. Must be called with s.mu held.
func (s *Server) resolve(ref string) (string, bool) {
	if ref == "" {
		ref = s.defaultBranch
	}
	ref = strings.TrimPrefix(ref, "refs/")
	if sha, ok := s.refs[ref]; ok {
		return sha, true
	}
	if sha, ok := s.refs["heads/"+ref]; ok {
		return sha, true
	}
	_, ok := s.commits[ref]
	return ref, ok
}

func (s *Server) contentJSON(p, ref string, b blob, withContent bool) map[string]any {
	m := map[string]any{
		"type": "file", "name": path.Base(p), "path": p, "sha": b.sha, "size": len(b.content),
		"url":          s.apiURL("/contents/%s?ref=%s", p, ref),
		"html_url":     s.htmlURL("/blob/%s/%s", ref, p),
		"git_url":      s.apiURL("/git/blobs/%s", b.sha),
		"download_url": fmt.Sprintf("https://raw.githubusercontent.com/%s/%s/%s/%s", s.owner, s.repo, ref, p),
	}
	m["_links"] = map[string]any{"self": m["url"], "git": m["git_url"], "html": m["html_url"]}
	if withContent {
		m["encoding"] = "base64"
		m["content"] = wrap60(base64.StdEncoding.EncodeToString(b.content))
	}
	return m
}

// wrap60 breaks base64 text into lines of 60 characters, as GitHub does.
func wrap60(s string) string {
	var sb strings.Builder
	for len(s) > 60 {
		sb.WriteString(s[:60] + "\n")
		s = s[60:]
	}
	sb.WriteString(s + "\n")
	return sb.String()
}

func (s *Server) getContents(w http.ResponseWriter, r *http.Request) {
	p := strings.Trim(r.PathValue("path"), "/")
	ref := r.URL.Query().Get("ref")
	s.mu.Lock()
	defer s.mu.Unlock()
	sha, ok := s.resolve(ref)
	if !ok {
		writeJSON(w, http.StatusNotFound, errorBody("No commit found for the ref "+ref, docsRoot))
		return
	}
	if ref == "" {
		ref = s.defaultBranch
	}
	t := s.commits[sha]
	if b, ok := t[p]; ok {
		writeJSON(w, http.StatusOK, s.contentJSON(p, ref, b, true))
		return
	}
	if list := s.listDir(t, p, ref); len(list) > 0 {
		writeJSON(w, http.StatusOK, list)
		return
	}
	notFound(w)
}

// listDir returns the entries directly under dir. Must be called with s.mu
// held.
func (s *Server) listDir(t tree, dir, ref string) []map[string]any {
	prefix := ""
	if dir != "" {
		prefix = dir + "/"
	}
	seen := map[string]bool{}
	var out []map[string]any
	var names []string
	for p := range t {
		if strings.HasPrefix(p, prefix) {
			names = append(names, p)
		}
	}
	sort.Strings(names)
	for _, p := range names {
		rest := strings.TrimPrefix(p, prefix)
		if sub, _, isDir := strings.Cut(rest, "/"); isDir {
			if !seen[sub] {
				seen[sub] = true
				out = append(out, map[string]any{"type": "dir", "name": sub, "path": prefix + sub,
					"url": s.apiURL("/contents/%s?ref=%s", prefix+sub, ref)})
			}
			continue
		}
		out = append(out, s.contentJSON(p, ref, t[p], false))
	}
	return out
}

type fileRequest struct {
	Message   *string `json:"message"`
	Content   *string `json:"content"`
	SHA       string  `json:"sha"`
	Branch    string  `json:"branch"`
	Committer *person `json:"committer"`
	Author    *person `json:"author"`
}

type person struct {
	Name  string `json:"name"`
	Email string `json:"email"`
}

func invalidRequest(w http.ResponseWriter, field string) {
	writeJSON(w, http.StatusUnprocessableEntity,
		errorBody(fmt.Sprintf("Invalid request.\n\n%q wasn't supplied.", field), docsRoot+"/repos/contents#create-or-update-file-contents"))
}

func (s *Server) putContents(w http.ResponseWriter, r *http.Request) {
	p := strings.Trim(r.PathValue("path"), "/")
	var req fileRequest
	if err := decodeBody(r, &req); err != nil {
		badJSON(w)
		return
	}
	switch {
	case req.Message == nil:
		invalidRequest(w, "message")
		return
	case req.Content == nil:
		invalidRequest(w, "content")
		return
	}
	content, err := base64.StdEncoding.DecodeString(*req.Content)
	if err != nil {
		writeJSON(w, http.StatusUnprocessableEntity, errorBody("content is not valid Base64", docsRoot))
		return
	}
	login, _ := s.login(r)
	s.mu.Lock()
	defer s.mu.Unlock()
	branch := req.Branch
	if branch == "" {
		branch = s.defaultBranch
	}
	head, ok := s.refs["heads/"+branch]
	if !ok {
		writeJSON(w, http.StatusNotFound, errorBody("Branch "+branch+" not found", docsRoot))
		return
	}
	old, exists := s.commits[head][p]
	switch {
	case exists && req.SHA == "":
		invalidRequest(w, "sha")
		return
	case exists && req.SHA != old.sha:
		writeJSON(w, http.StatusConflict, errorBody(fmt.Sprintf("%s does not match %s", p, req.SHA),
			docsRoot+"/repos/contents#create-or-update-file-contents"))
		return
	}
	b := blob{content: content, sha: blobSHA(content)}
	t := maps.Clone(s.commits[head])
	t[p] = b
	sha := s.commit(t, *req.Message)
	s.refs["heads/"+branch] = sha
	status := http.StatusCreated
	if exists {
		status = http.StatusOK
	}
	writeJSON(w, status, map[string]any{
		"content": s.contentJSON(p, branch, b, false),
		"commit":  s.commitJSON(sha, head, *req.Message, req.Committer, login),
	})
}

func (s *Server) commitJSON(sha, parent, message string, committer *person, login string) map[string]any {
	who := person{Name: login, Email: login + "@users.noreply.github.com"}
	if committer != nil {
		who = *committer
	}
	sig := map[string]any{"name": who.Name, "email": who.Email, "date": s.now().UTC().Format(time.RFC3339)}
	return map[string]any{
		"sha": sha, "node_id": "C_fake" + sha[:8], "url": s.apiURL("/git/commits/%s", sha),
		"html_url": s.htmlURL("/commit/%s", sha), "author": sig, "committer": sig,
		"tree":         map[string]any{"sha": blobSHA([]byte(sha)), "url": s.apiURL("/git/trees/%s", blobSHA([]byte(sha)))},
		"message":      message,
		"parents":      []map[string]any{{"sha": parent, "url": s.apiURL("/git/commits/%s", parent), "html_url": s.htmlURL("/commit/%s", parent)}},
		"verification": map[string]any{"verified": false, "reason": "unsigned", "signature": nil, "payload": nil},
	}
}
