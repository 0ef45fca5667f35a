// Package slackfake is test support for code that talks to Slack: a
// wire-level fake of the Slack Web API, and builders for correctly signed
// inbound Slack requests (slash commands, interactivity, Events API).
//
// # The fake Web API
//
// New starts an httptest.Server that answers Slack's documented JSON for the
// methods sitrep uses, keeps simple in-memory state and records every call:
//
//	srv := slackfake.New(t) // closed by t.Cleanup
//	srv.AddUser(slackfake.User{ID: "U1", Name: "alice", Email: "alice@example.com"})
//	api := slack.New(slackfake.BotToken, slack.OptionAPIURL(srv.URL()))
//
//	// ... run the code under test with api ...
//
//	ch, ok := srv.Channel("inc-42-db-down")
//	msgs := srv.Messages(ch.ID)
//	calls := srv.WaitFor("chat.postMessage", 2, 5*time.Second)
//
// URL returns the API base with the trailing slash slack.OptionAPIURL needs.
// The fake accepts what slack-go sends: form-encoded POSTs with a token
// parameter, JSON POSTs with "Authorization: Bearer", and GETs with a query
// string. A missing token answers {"ok":false,"error":"not_authed"}, a wrong
// one {"ok":false,"error":"invalid_auth"}, both with HTTP 200 as Slack does.
// Unknown methods answer {"ok":false,"error":"unknown_method"}.
//
// Supported methods: auth.test; conversations.create, .setTopic, .invite,
// .archive, .history, .info, .join, .list, .members; chat.postMessage, .update,
// .postEphemeral, .getPermalink, .delete; pins.add; users.info,
// users.lookupByEmail; usergroups.users.list; views.open, views.update;
// files.getUploadURLExternal, the upload POST to the returned URL (recorded
// under the pseudo-method MethodUpload), files.completeUploadExternal; and
// apps.connections.open (which needs the app-level token; see Socket Mode
// below). conversations.open (1:1 DMs only), conversations.replies,
// conversations.setPurpose and api.test are answered too. Posting to a user
// id opens (and records) a DM channel "D…" with that user.
//
// Seed state with AddUser, AddUserGroup and AddChannel. Read it back with
// Channel, ChannelByID, Messages, Message, Ephemerals, Pins, Topic, Members,
// Uploads and Views; read the raw traffic with Calls and CallsTo. Every
// accessor returns copies and every method is safe for concurrent use.
// WaitFor and WaitUntil block until a condition holds (they are woken by each
// recorded call, they do not sleep fixed amounts). InFlight counts calls that
// have arrived but are not answered yet (e.g. held by a Slow fault).
//
// conversations.members pages as Slack does (limit, default 100, at most
// 1,000; an opaque next_cursor; invalid_cursor for any other), and hides a
// private channel the bot is not in (channel_not_found).
//
// chat.postMessage and chat.postEphemeral answer channel_not_found for a
// private channel or DM the bot is not a member of, as Slack does; trigger
// ids registered with AddTriggers expire after TriggerLifetime (3 s);
// message blocks are checked against Block Kit's limits (invalid_blocks)
// and text over 40,000 characters is msg_too_long. conversations.history
// returns thread parents only; conversations.replies takes the ts of any
// message of a thread.
//
// Response URLs: ResponseURL(channel, user) issues the response_url of a
// slash command or interaction (set it in the request builders' ResponseURL
// field). A post to it is shown to the person wherever the request came
// from, even where chat.postEphemeral cannot reach; read them with
// Responses. As Slack, a URL takes at most ResponseURLUses (5) posts within
// ResponseURLLifetime (30 minutes, on the WithClock clock), and answers 404
// after; posts are recorded under the pseudo-method MethodResponseURL.
//
// Deliberate simplifications: the bot may post to any public channel without
// being a member (as with the chat:write.public scope), chat.postEphemeral
// does not check that the user is in the channel, history is not paginated
// (everything comes in one page, next_cursor ""), and a completed file upload does not
// create a file_share message (read it with Uploads).
//
// # Fault injection
//
// FailNext, FailNextN and SetFault script faults per method (or for every
// method with AnyMethod): a 429 with Retry-After (RateLimited), a bare 5xx
// (ServerError), a Slack error with HTTP 200 (SlackError) or a slow response
// (Slow). A faulted call is recorded (Call.Fault) but never changes state, so
// a test can prove that nothing was lost or doubled after retries. A slow
// response gives up as soon as the client cancels its request or the server
// is closed; a call abandoned like that is recorded with Canceled set and
// changes nothing either.
//
// # Socket Mode
//
// apps.connections.open answers a ws:// URL on the fake. A slack-go
// socketmode client that connects receives Slack's "hello" and periodic
// pings; push envelopes with SocketSend, read acknowledgements with
// SocketAcked or WaitSocketAck, and send a disconnect with SocketDisconnect.
//
// # Signed inbound requests
//
// Sign computes Slack's v0 request signature. SlashCommandRequest,
// InteractionRequest and EventRequest build *http.Request values exactly as
// Slack sends them (percent-encoded form bodies, payload=<JSON> for
// interactivity, JSON for events), signed with the given secret and time, to
// feed into the bot's HTTP handlers (for example with httptest.NewRecorder).
// BlockActions, ViewSubmission, NewEventCallback and the event constructors
// build payloads with the shapes of Slack's documented samples.
package slackfake
