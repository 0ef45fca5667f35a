package main

import (
	"crypto/rand"
	"encoding/base64"
	"fmt"
	"io"

	"github.com/sitrep-io/sitrep/handlers"
)

// apiTokenCommand makes a REST API token: the token for the client, and the
// line for SITREP_API_TOKENS, which holds only its hash.
func apiTokenCommand(out io.Writer, args []string) error {
	if len(args) != 1 {
		return &usageError{"usage: sitrep api-token NAME (the name is the actor on the timeline)"}
	}
	name := args[0]
	if _, err := handlers.ParseAPITokens(name + ":" + handlers.HashAPIToken("")); err != nil {
		return &usageError{err.Error()}
	}
	raw := make([]byte, 32)
	if _, err := rand.Read(raw); err != nil {
		return fmt.Errorf("make a token: %w", err)
	}
	token := "sitrep_" + base64.RawURLEncoding.EncodeToString(raw)
	fmt.Fprintf(out, "token (give it to the client; it is shown once):\n  %s\n", token)
	fmt.Fprintf(out, "add to SITREP_API_TOKENS (comma-separated; append :private to let it see private incidents):\n  %s:%s\n",
		name, handlers.HashAPIToken(token))
	return nil
}
