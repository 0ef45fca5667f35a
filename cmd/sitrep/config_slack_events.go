package main

import (
	"fmt"
	"regexp"
	"strings"
)

// SlackEventsConfig sets how Slack events reach the timeline.
type SlackEventsConfig struct {
	// PinReaction is the reaction name (without colons) that puts a message
	// in an incident channel on the timeline.
	PinReaction string
}

// reactionName is what Slack sends as a reaction's name: lowercase letters,
// digits and - _ + ' (skin tones as "::skin-tone-2").
var reactionName = regexp.MustCompile(`^[a-z0-9_+'-]+(::skin-tone-[2-6])?$`)

func slackEventsSettings() []setting {
	return []setting{
		{Key: "slack.pin_reaction", Env: "SITREP_PIN_REACTION", Default: "pushpin",
			Help: "reaction that adds a message in an incident channel to the timeline (`pushpin` is :pushpin:)",
			apply: func(c *Config, v string) error {
				name := strings.Trim(strings.TrimSpace(v), ":")
				if !reactionName.MatchString(name) {
					return fmt.Errorf("%q is not a reaction name (e.g. pushpin or :pushpin:)", v)
				}
				c.SlackEvents.PinReaction = name
				return nil
			}},
	}
}
