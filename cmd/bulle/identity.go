package main

import (
	"github.com/bulle-help/bulle/escalation"
	"github.com/bulle-help/bulle/widget"
)

// newIdentities checks the identities that sites sign for their visitors
// with widget.identity_secret (docs/identity.md). Without a secret it
// returns a nil interface, and the bubble refuses any signed identity.
func newIdentities(cfg Config, s *escalation.Store) (widget.Identities, error) {
	if cfg.Widget.IdentitySecret == "" {
		return nil, nil
	}
	return escalation.NewIdentities(s, []byte(cfg.Widget.IdentitySecret.Reveal()))
}
