package main

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// `sitrep web-login` prints a link that signs a browser in to a running
// serve, once; serve without Slack prints one at start too.
func TestWebLoginSignsInToServe(t *testing.T) {
	dbPath := filepath.Join(t.TempDir(), "sitrep.db")
	vars := map[string]string{"SITREP_DB": dbPath, "SITREP_CONSOLE": "off"}
	addr, out, _ := startServeOutput(t, vars)
	if !strings.Contains(out.String(), "web view: open http://localhost:") {
		t.Errorf("serve without Slack printed no sign-in link:\n%s", out.String())
	}

	var printed, errOut bytes.Buffer
	if code := run(context.Background(), []string{"web-login", "--user", "U0LENA"}, testEnv(vars, &printed, &errOut)); code != 0 {
		t.Fatalf("web-login: exit %d %s", code, errOut.String())
	}
	link := regexp.MustCompile(`http://\S+/login\?token=\S+`).FindString(printed.String())
	if link == "" {
		t.Fatalf("web-login printed no link: %q", printed.String())
	}
	u, _ := url.Parse(link)
	u.Host = addr
	jar, _ := cookiejar.New(nil)
	browser := &http.Client{Jar: jar}
	page := func(resp *http.Response, err error) (int, string) {
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	_, body := page(browser.Get(u.String()))
	token := regexp.MustCompile(`name="token" value="([^"]+)"`).FindStringSubmatch(body)
	if token == nil {
		t.Fatalf("the link's page has no sign-in form:\n%s", body)
	}
	status, body := page(browser.PostForm("http://"+addr+"/login", url.Values{"token": {token[1]}}))
	if status != http.StatusOK || !strings.Contains(body, "U0LENA") || !strings.Contains(body, "Incidents") {
		t.Fatalf("sign-in: %d\n%s", status, body)
	}
	status, _ = page(http.PostForm("http://"+addr+"/login", url.Values{"token": {token[1]}}))
	if status != http.StatusForbidden {
		t.Errorf("the link worked twice: %d", status)
	}
	// The webhooks keep their own authentication beside the web view.
	status, _ = page(http.Post("http://"+addr+"/webhooks/alert", "application/json", strings.NewReader("{}")))
	if status == http.StatusOK || status == http.StatusSeeOther {
		t.Errorf("POST /webhooks/alert = %d: the web view must not answer for it", status)
	}
}
