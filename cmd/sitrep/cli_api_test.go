package main

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
)

// A token made by `sitrep api-token` opens the REST API of a running serve.
func TestAPITokenCommandAndServe(t *testing.T) {
	var out, errOut bytes.Buffer
	if code := run(context.Background(), []string{"api-token", "reporting"}, testEnv(nil, &out, &errOut)); code != 0 {
		t.Fatalf("api-token: exit %d %s", code, errOut.String())
	}
	lines := strings.Split(out.String(), "\n")
	if len(lines) < 4 {
		t.Fatalf("api-token printed %q", out.String())
	}
	token, entry := strings.TrimSpace(lines[1]), strings.TrimSpace(lines[3])
	if !strings.HasPrefix(token, "sitrep_") || !strings.HasPrefix(entry, "reporting:") || strings.Contains(entry, token) {
		t.Fatalf("token %q, entry %q: want a token and a hash entry that does not contain it", token, entry)
	}
	if code := run(context.Background(), []string{"api-token", "bad name"}, testEnv(nil, &out, &errOut)); code != 2 {
		t.Errorf("api-token with a bad name: exit %d, want 2", code)
	}

	addr, _, logs := startServeOutput(t, map[string]string{"SITREP_CONSOLE": "off", "SITREP_API_TOKENS": entry})
	get := func(tok string) int {
		req, _ := http.NewRequest(http.MethodGet, "http://"+addr+"/api/v1/incidents", nil)
		if tok != "" {
			req.Header.Set("Authorization", "Bearer "+tok)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var body map[string]any
		_ = json.NewDecoder(resp.Body).Decode(&body)
		return resp.StatusCode
	}
	if code := get(token); code != http.StatusOK {
		t.Errorf("GET /api/v1/incidents with the token = %d, want 200", code)
	}
	if code := get(""); code != http.StatusUnauthorized {
		t.Errorf("without the token = %d, want 401", code)
	}
	if strings.Contains(logs.String(), token) {
		t.Error("the token is in the log")
	}
}
