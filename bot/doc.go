// Package bot is sitrep's domain: incidents and their lifecycle, the
// append-only timeline, the command grammar people type, the buttons they
// press, and the outbox that carries every effect on the outside world. It
// imports no vendor library and no database/sql: it declares the ports it
// needs, and adapters (store, slackchat, console, pager, ghexport,
// statuspage, publicpage) implement them; cmd/sitrep wires them together.
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
// # Where things live
//
//   - Commands (command.go): "/incident <name> …" is parsed against a table
//     of Command values; features add theirs with Service.RegisterCommand
//     (postmortem_commands.go, statuspage_commands.go, triage.go, and
//     runbooks.Register). Service.Execute runs one Invocation and returns a
//     Reply (text, and whether only the actor sees it).
//   - Actions (actions.go): buttons and form submissions arrive as an
//     ActionInvocation with an action id (ActionAcknowledge,
//     ActionPostUpdate, ActionApproveRun, …); features add handlers with
//     Service.RegisterAction. The chat edge decides nothing: it translates.
//   - Hooks (service.go): an EventHook sees every event inside the
//     transaction that recorded it (the pager write-back, alert summaries).
//   - Outbox operations: a Delivery names an op; a feature registers the
//     DeliveryHandler for each op it enqueues with Dispatcher.Handle. The
//     chat ops are in chatops.go (OpCreateChannel, OpPostCard, OpPost, …),
//     the others beside their feature: reminders (OpReminder), archiving,
//     the pager (pager.go), postmortems (OpUploadPostmortem,
//     OpExportPostmortem), status pages (statuspage_publish.go), triage and
//     alert summaries (triage.go), runbooks (runbooks/runs.go).
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
//   - Text (limits.go): everything a person or a machine sent is bounded and
//     made harmless on the way in; what people typed is never markup (the
//     chat adapter escapes it).
//
// # Recipes
//
// Add an alert source: write a vendor-free HTTP handler in package handlers
// that verifies the request as the vendor signs it and turns it into an
// Alert (alert.go); Service.IngestAlert does dedup, triage and the opening.
// For status changes from the source, use the source-event path
// (source_event.go) so that the source's clock is used.
//
// Add a runbook action: implement an executor in package runbooks (see
// runbooks/executor.go) and register it under its action name; rendering,
// approval and the run state machine are shared.
//
// Add a chat platform: in one package of its own (as slackchat is for
// Slack, outbound and inbound), implement Chat (and Directory,
// MessageFinder for crash-safe posting), render Message (text, fields,
// Action buttons) in its own markup, translate its inbound requests into
// Service.Execute and Service.HandleAction, and wire it in cmd/sitrep. Mentions are the domain's "<@ID>" markup, which the console
// turns into plain text (PlainText) and Slack shows as is.
//
// Add a store: implement Store (and SessionStore for the web view) and run
// internal/storetest.Run against it with a fresh database per test; give
// it its own migrations, applied under a lock so replicas migrate once.
package bot
