package slackfake

import (
	"encoding/json"
	"net/http"
	"net/url"
	"time"
)

// User is a member of the fake workspace's user directory.
type User struct {
	ID          string
	Name        string // the handle, e.g. "alice"
	RealName    string
	DisplayName string
	Email       string
	IsBot       bool
	Deleted     bool
	TZ          string // e.g. "Europe/Berlin"; defaults to "UTC"
}

// Channel is a snapshot of a conversation held by the fake.
type Channel struct {
	ID         string
	Name       string
	IsPrivate  bool
	IsArchived bool
	IsIM       bool
	Created    time.Time
	Creator    string
	Topic      string
	Purpose    string
	Members    []string
}

// MessageVersion is one version of a message's content: the original post or
// the result of one chat.update.
type MessageVersion struct {
	Text     string
	Blocks   json.RawMessage
	Metadata json.RawMessage
	At       time.Time
}

// Message is a snapshot of a message posted with chat.postMessage (and
// possibly changed by chat.update).
type Message struct {
	Channel     string
	TS          string
	ThreadTS    string // parent ts for a reply; "" for a top-level message
	User        string // the bot user that posted it
	Text        string
	Blocks      json.RawMessage // raw JSON array as sent, nil when absent
	Attachments json.RawMessage
	Metadata    json.RawMessage
	Params      url.Values // every parameter of the posting call
	ReplyCount  int
	Pinned      bool
	Deleted     bool
	// Versions lists the original content followed by one entry per
	// chat.update; the last entry equals Text/Blocks/Metadata.
	Versions []MessageVersion
}

// Updated reports whether the message was changed with chat.update.
func (m Message) Updated() bool { return len(m.Versions) > 1 }

// Ephemeral is a message sent with chat.postEphemeral.
type Ephemeral struct {
	Channel  string
	User     string
	TS       string
	ThreadTS string
	Text     string
	Blocks   json.RawMessage
	Params   url.Values
}

// Upload is a file received through the three-step external upload.
type Upload struct {
	FileID         string
	Filename       string
	Title          string
	Length         int    // the length announced to files.getUploadURLExternal
	Content        []byte // the bytes POSTed to the upload URL (nil until then)
	Uploaded       bool
	Completed      bool // files.completeUploadExternal succeeded for it
	Channels       []string
	ThreadTS       string
	InitialComment string
}

// View is a modal opened with views.open (and possibly changed by
// views.update).
type View struct {
	ID              string
	TriggerID       string
	ExternalID      string
	Hash            string
	CallbackID      string
	PrivateMetadata string
	Raw             json.RawMessage // the view object as last sent
	Updates         int
}

// Call is one recorded HTTP request to the fake.
type Call struct {
	Method string // Slack method name, e.g. "chat.postMessage"; MethodUpload for uploads
	// Params holds the form or query parameters. For JSON bodies it holds the
	// top-level fields: strings as they are, anything else as raw JSON.
	Params url.Values
	JSON   map[string]any // decoded JSON body; nil for form requests
	Body   []byte         // raw request body
	Header http.Header
	Token  string // the token presented (header or parameter)
	Time   time.Time

	Status   int    // HTTP status answered (0 if the call was abandoned)
	Error    string // Slack error code answered, "" when ok
	Fault    *Fault // the injected fault, if one applied
	Canceled bool   // the client or the server gave up during an injected delay
}

// Param returns the named parameter, whether it came in a form, a query
// string or a JSON body.
func (c Call) Param(name string) string { return c.Params.Get(name) }

// OK reports whether the call got a successful answer (HTTP 200, ok:true).
func (c Call) OK() bool { return c.Status == http.StatusOK && c.Error == "" && !c.Canceled }
