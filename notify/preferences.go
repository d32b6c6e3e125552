package notify

import (
	"context"
	"fmt"

	"tally/domain"
	"tally/personal"
	"tally/readmodel"
)

// ErrErased refuses e-mail settings for an erased user: storing their
// address again would bring it back.
var ErrErased = domain.NewError(domain.KindConflict, "this user was erased; Tally keeps no e-mail settings for them")

// Preference is whether a user wants Tally's e-mails and whether the
// address's owner agreed to them.
type Preference struct {
	Enabled   bool
	Confirmed bool
}

// Preferences reads and changes a user's e-mail preference. The API
// (/v1/users/{email}/notifications) and the web app's account page both
// go through it.
type Preferences struct {
	Queries *readmodel.Queries
	// Personal, when set, tells erased users apart.
	Personal *personal.Keys
}

// Get returns what the user wants and agreed to.
func (p Preferences) Get(ctx context.Context, tenant, email string) (Preference, error) {
	c, err := p.Queries.EmailConsent(ctx, readmodel.EmailConsentParams{Tenant: tenant, UserEmail: email})
	if err != nil {
		return Preference{}, fmt.Errorf("read e-mail preference: %w", err)
	}
	return Preference{Enabled: c.Enabled, Confirmed: c.Confirmed}, nil
}

// Set turns the user's e-mails on or off. Turning them on again after
// they were off takes a fresh confirmation by the address's owner.
func (p Preferences) Set(ctx context.Context, tenant, email string, enabled bool) (Preference, error) {
	var err error
	if !enabled {
		err = p.Queries.SetEmailEnabled(ctx, readmodel.SetEmailEnabledParams{Tenant: tenant, UserEmail: email})
	} else {
		if p.Personal != nil {
			erased, err := p.Personal.Erased(ctx, tenant, email)
			if err != nil {
				return Preference{}, fmt.Errorf("check erasure: %w", err)
			}
			if erased {
				return Preference{}, ErrErased
			}
		}
		err = p.Queries.RequestEmails(ctx, readmodel.RequestEmailsParams{Tenant: tenant, UserEmail: email})
	}
	if err != nil {
		return Preference{}, fmt.Errorf("store e-mail preference: %w", err)
	}
	return p.Get(ctx, tenant, email)
}
