// Package bot is sitrep's domain: incidents and their lifecycle, the
// append-only timeline, the command grammar people type, the buttons they
// press, and the outbox that carries every effect on the outside world. It
// imports no vendor library and no database/sql: it declares the ports it
// needs, and adapters (store, slackchat, console, pager, ghexport,
// statuspage, publicpage) implement them; cmd/sitrep chooses them from the
// configuration and internal/app wires them together.
//
// # The shape of a change
//
// Everything that changes an incident goes through one Service method,
// which runs in one Store.Update transaction: the incident row, the
// timeline events that say what happened (Event, EventKind) and the outbox
// entries (Delivery) that will tell the chat, the pager or a status page.
// They commit together or not at all, so a committed change always has its
// announcement queued, and a vendor outage delays an effect but never loses
// it. The Dispatcher delivers outbox entries afterwards, one at a time per
// key (an incident's channel keeps its order), retrying temporary failures
// (TemporaryError, rate limits as waits) and recording permanent ones on
// the timeline.
//
// # Features: one way to plug in
//
// Everything beside the core is a Feature (feature.go): a Name and a
// Register(*Registry). Wire(svc, disp, features...) calls each Register,
// through which the feature adds its commands (Registry.Command), actions
// (Registry.Action, ActionOn), event hooks (Registry.Hook), card buttons
// (Registry.CardButtons) and outbox delivery handlers (Registry.Deliver),
// and declares the outbox ops it enqueues or schedules (Registry.Enqueues).
// Wire then refuses, naming the op and the feature, a wiring in which an
// op that can be enqueued has no handler or an op has two; the core's own
// ops (coreOps) are declared by Wire itself. The features:
//
//   - ChatOps(chat): the chat adapter's ops (chatops.go, archive.go)
//   - PinnedMessages(fetcher): pinned messages on the timeline (chat_events.go)
//   - Alerting(cfg, chat): triage and alert summaries (triage.go, alert_summary.go)
//   - PagerWriteBack(pager, dir): responders and write-back (pager.go)
//   - NewReminders(cfg): status-update reminders, archiving (reminders.go, archive.go)
//   - NewPostmortems(cfg): follow-ups, impact, drafts, export (postmortem*.go)
//   - NewStatusPages(cfg): publishing (statuspage*.go)
//   - runbooks.NewRuns(cfg): runbook runs (package runbooks)
//
// internal/app.New is the one place that assembles the service, the
// dispatcher and these features from their configurations; `sitrep serve`,
// cmd/loadgen and the end-to-end test harnesses call it.
//
// # Where things live
//
//   - Commands (command.go): "/incident <name> …" is parsed against a table
//     of Command values; features add theirs with Registry.Command
//     (postmortem_commands.go, statuspage_commands.go, triage.go,
//     runbooks/commands.go). Service.Execute runs one Invocation and returns
//     a Reply (text, and whether only the actor sees it). /incident help
//     lists them in the order they were wired.
//   - Actions (actions.go): buttons and form submissions arrive as an
//     ActionInvocation with an action id (ActionAcknowledge,
//     ActionPostUpdate, ActionApproveRun, …); features add handlers with
//     Registry.Action. The chat edge decides nothing: it translates.
//   - Hooks (service.go): an EventHook sees every event inside the
//     transaction that recorded it (the pager write-back, reminders); added
//     with Registry.Hook.
//   - Outbox operations: a Delivery names an op; the feature that delivers
//     it registers its DeliveryHandler with Registry.Deliver, and every
//     feature that enqueues it declares so with Registry.Enqueues. The chat
//     ops are in chatops.go (OpCreateChannel, OpPostCard, OpPost, …), the
//     others beside their feature: reminders (OpReminder), archiving
//     (OpArchiveCheck, and OpArchive, a chat op), pinned messages
//     (OpFetchPinned), the pager (pager.go), postmortems
//     (OpUploadPostmortem, OpExportPostmortem), status pages
//     (statuspage.go), triage and alert summaries (triage.go), runbooks
//     (runbooks/runs.go).
//   - Ports (ports.go and beside their feature): Store (with its sub-stores
//     and the transaction side Tx), Chat, MessageFinder, ChannelFinder,
//     Directory, MessageFetcher, Pager, PostmortemDrafter,
//     PostmortemPublisher, StatusPage, SessionStore. Each documents the
//     guarantees the domain relies on; internal/storetest checks the
//     store's on every implementation.
//   - Time: Service.Now is the only clock; tests give a fake one
//     (ServiceConfig.Now). A source's own time (PagerDuty occurred_at,
//     Alertmanager startsAt) sets key times, clamped to sane bounds
//     (source_event.go); corrections (corrections.go) fix the record after
//     the fact, each one audited.
//   - Forms (form.go): what a person fills in before an action is a Form,
//     as what they are told is a Message: an id, a title, a submit label,
//     fields (FieldText, FieldMultiline, FieldSelect, FieldMultiSelect,
//     FieldCheckbox; each with a label, hint, placeholder, preset,
//     required, maximum, options) and opaque Metadata (where it came
//     from). The domain builds each one (DeclareForm, UpdateForm.Form,
//     DeclineForm, PublishForm, runbooks.ParamsForm); a chat renders it
//     (slackchat.ModalView: a Block Kit modal; console.FormPrompter:
//     prompts) and returns the answers as FormValues by field id. Form.
//     Validate (required, maximum, a choice among the options) and the
//     action's own checks answer with FormErrors by field (ErrorField
//     finds the field a refusal names), which each chat shows at the field.
//   - Mentions (mention.go): a mention is the domain's own markup, built
//     only by Mention, GroupMention and ChannelLink (an id between the
//     control characters STX and ETX). SafeText makes those visible in
//     anything typed or sent, so no typed text can form a mention, and
//     chat markup a person typed ("<@U1>", "<!channel>") is only text.
//     Every edge converts (ReplaceMentions): Slack to its live "<@U1>"
//     (and escapes the rest), the console, the web view, the REST API,
//     PagerDuty notes and status pages to "@U1" (PlainText, PublicText),
//     postmortems to names. Timeline events that an older version stored
//     with "<@U1>" read as "@U1" everywhere.
//   - Text (limits.go): everything a person or a machine sent is bounded and
//     made harmless on the way in; what people typed is never markup (the
//     chat adapter escapes it).
//
// # Recipes
//
// Add a feature: give it a constructor taking its configuration (and the
// ports it delivers through) that returns a Feature; in Register add its
// commands, actions and hooks, Deliver its ops and declare with Enqueues
// every op it enqueues (including another feature's, such as OpArchive).
// Then add it to internal/app.Config and New, in one place.
//
// Add an alert source: write a vendor-free HTTP handler in package handlers
// that verifies the request as the vendor signs it and turns it into an
// Alert (alert.go); Service.IngestAlert does dedup, triage and the opening.
// For status changes from the source, use the source-event path
// (source_event.go) so that the source's clock is used. If it writes back,
// make that a Feature as PagerWriteBack is.
//
// Add a runbook action: implement an executor in package runbooks (see
// runbooks/executor.go) and register it under its action name; rendering,
// approval and the run state machine are shared.
//
// Add a chat platform: in one package of its own (as slackchat is for
// Slack, outbound and inbound), implement Chat (and Directory,
// MessageFinder for crash-safe posting), render Message (text, fields,
// Action buttons) in its own markup, with the domain's mentions converted
// by ReplaceMentions and everything else escaped; render Form as the
// platform asks questions and hand the answers back as FormValues;
// translate its inbound requests into Service.Execute and
// Service.HandleAction (a user argument may be a bare id: NormalizeUser),
// and choose it in cmd/sitrep: internal/app wires it as ChatOps (and
// PinnedMessages, if it reports pins). Nothing in bot changes.
//
// Add a store: implement Store (and SessionStore for the web view) and run
// internal/storetest.Run against it with a fresh database per test; give
// it its own migrations, applied under a lock so replicas migrate once.
package bot
