package slackfake_test

import (
	"encoding/json"
	"reflect"
	"testing"

	"github.com/sitrep-io/sitrep/internal/slackfake"
)

func TestActionsBlocks(t *testing.T) {
	blocks := json.RawMessage(`[
		{"type":"section","text":{"type":"mrkdwn","text":"hi"}},
		{"type":"actions","block_id":"b1","elements":[
			{"type":"button","action_id":"ack","value":"1","text":{"type":"plain_text","text":"Acknowledge"}},
			{"type":"static_select","action_id":"sev"}]},
		{"type":"actions","block_id":"b2","elements":[]}]`)
	got, err := slackfake.ActionsBlocks(blocks)
	if err != nil {
		t.Fatal(err)
	}
	want := []slackfake.ActionsBlock{
		{BlockID: "b1", Elements: []slackfake.Element{
			{Type: "button", ActionID: "ack", Value: "1", Text: "Acknowledge"},
			{Type: "static_select", ActionID: "sev"}}},
		{BlockID: "b2"},
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("ActionsBlocks = %+v, want %+v", got, want)
	}
	if got, err := slackfake.ActionsBlocks(nil); err != nil || got != nil {
		t.Fatalf("no blocks: %+v, %v", got, err)
	}
	if _, err := slackfake.ActionsBlocks(json.RawMessage(`{"type":"actions"}`)); err == nil {
		t.Fatal("an object, not an array of blocks: no error")
	}
}
