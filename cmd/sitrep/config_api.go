package main

import "github.com/sitrep-io/sitrep/handlers"

// APIConfig is the REST API's configuration.
type APIConfig struct {
	Tokens []handlers.APIToken
}

func apiSettings() []setting {
	return []setting{
		{Key: "api.tokens", Env: "SITREP_API_TOKENS",
			Help: "REST API tokens as `name:sha256hex[:private],…` (`sitrep api-token NAME` makes one; `:private` lets it see private incidents); unset: `/api/v1` answers 503",
			apply: func(c *Config, v string) error {
				tokens, err := handlers.ParseAPITokens(v)
				if err != nil {
					return err
				}
				c.API.Tokens = tokens
				return nil
			}},
	}
}
