// Package app assembles sitrep: the service, the outbox dispatcher and
// the features, from their configurations. `sitrep serve`, cmd/loadgen and
// the tests that run the whole bot all wire through New, so there is one
// wiring and one start-up check that every outbox operation has a handler
// (bot.Wire). The concrete vendors (the chat, the pager, the status page,
// the postmortem exporter) are chosen by the caller, cmd/sitrep from its
// configuration, and handed in through the ports bot defines.
package app

import (
	"errors"

	"github.com/sitrep-io/sitrep/bot"
	"github.com/sitrep-io/sitrep/runbooks"
)

// Config is what to assemble. Store and Chat are required; a nil feature
// configuration leaves that feature off.
type Config struct {
	Store      bot.Store
	Service    bot.ServiceConfig
	Dispatcher bot.DispatcherOptions // OnFailure, when nil: the failure goes on the incident's timeline
	// Chat delivers the core's chat operations (bot.ChatOps) and, unless
	// their configurations name another, the features' messages.
	Chat bot.Chat
	// Directory looks people up for the features that need to (on-call
	// responders, runbook approver groups) unless their configurations
	// name one; nil: nobody is found.
	Directory bot.Directory
	// Access is the private-incident check and the permission policy;
	// nil: anyone may do anything.
	Access *bot.AccessConfig
	// Reminders are always on; intervals of zero remind of nothing.
	Reminders bot.ReminderConfig
	// Pins, when set, records pinned chat messages on the timeline,
	// fetched through it.
	Pins       bot.MessageFetcher
	Alerting   *bot.AlertingConfig
	Pager      bot.Pager // write-back and on-call responders; needs Alerting
	Runbooks   *runbooks.RunsConfig
	Postmortem *bot.PostmortemConfig
	StatusPage *bot.StatusPageConfig
}

// App is sitrep assembled. Run App.Dispatcher (or Drain it) to deliver.
type App struct {
	Service    *bot.Service
	Dispatcher *bot.Dispatcher
	Reminders  *bot.Reminders
	// The features that other parts use directly; nil when off.
	Runs        *runbooks.Runs
	Postmortems *bot.Postmortems
	StatusPages *bot.StatusPages
}

// New builds the service and the dispatcher on cfg.Store and wires the
// configured features on them, in a fixed order (which is the order of
// their commands in /incident help). It fails, naming the operation and the
// feature, when an outbox operation that can be enqueued has no handler.
func New(cfg Config) (*App, error) {
	if cfg.Store == nil || cfg.Chat == nil {
		return nil, errors.New("assemble sitrep: a store and a chat are required")
	}
	if cfg.Pager != nil && cfg.Alerting == nil {
		return nil, errors.New("assemble sitrep: the pager write-back needs alerting on")
	}
	svc := bot.NewService(cfg.Store, cfg.Service)
	if cfg.Dispatcher.OnFailure == nil {
		cfg.Dispatcher.OnFailure = svc.RecordDeliveryFailure
	}
	disp := bot.NewDispatcher(cfg.Store, cfg.Dispatcher)
	svc.OnCommit(disp.Wake)
	if cfg.Access != nil {
		svc.EnableAccess(*cfg.Access)
	}
	a := &App{Service: svc, Dispatcher: disp, Reminders: bot.NewReminders(cfg.Reminders)}
	features := []bot.Feature{bot.ChatOps(cfg.Chat), a.Reminders}
	if cfg.Pins != nil {
		features = append(features, bot.PinnedMessages(cfg.Pins))
	}
	if cfg.Alerting != nil {
		features = append(features, bot.Alerting(*cfg.Alerting, cfg.Chat))
	}
	if cfg.Pager != nil {
		features = append(features, bot.PagerWriteBack(cfg.Pager, cfg.Directory))
	}
	if cfg.Runbooks != nil {
		rc := *cfg.Runbooks
		if rc.Chat == nil {
			rc.Chat = cfg.Chat
		}
		if rc.Directory == nil {
			rc.Directory = cfg.Directory
		}
		a.Runs = runbooks.NewRuns(rc)
		features = append(features, a.Runs)
	}
	if cfg.Postmortem != nil {
		pc := *cfg.Postmortem
		if pc.Chat == nil {
			pc.Chat = cfg.Chat
		}
		if pc.Directory == nil {
			pc.Directory = cfg.Directory
		}
		a.Postmortems = bot.NewPostmortems(pc)
		features = append(features, a.Postmortems)
	}
	if cfg.StatusPage != nil {
		a.StatusPages = bot.NewStatusPages(*cfg.StatusPage)
		features = append(features, a.StatusPages)
	}
	if err := bot.Wire(svc, disp, features...); err != nil {
		return nil, err
	}
	return a, nil
}
