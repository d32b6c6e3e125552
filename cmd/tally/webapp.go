package main

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"tally/accounts"
	"tally/apikeys"
	"tally/commands"
	"tally/ereceipts"
	"tally/mailbox"
	"tally/personal"
	"tally/search"
	"tally/web"
	"tally/webhooks"
)

// Sign-in throttles: failures per address, and per client address (which
// many people behind one NAT share, hence the larger budget).
const (
	loginFailures       = 5
	loginAddrFailures   = 50
	loginThrottleWindow = 15 * time.Minute
)

// webApp builds the pages people use, served by the API role beside the
// API, on the API's command handler. Without SMTP an invitation's link is
// shown to the admin instead. The settings pages use the same webhook,
// mailbox and e-receipt stores as the API.
func (r *runtime) webApp(m *mailer, cmds *commands.Handler, hooks *webhooks.Store, mailboxes *mailbox.Service) (*web.Server, error) {
	deps := web.Deps{
		Accounts:        accounts.NewStore(r.pool),
		Sessions:        accounts.NewSessions(r.redis, accounts.SessionConfig{}),
		LoginThrottle:   accounts.NewThrottle(r.redis, "login", loginFailures, loginThrottleWindow),
		AddressThrottle: accounts.NewThrottle(r.redis, "login-ip", loginAddrFailures, loginThrottleWindow),
		Commands:        cmds,
		Pool:            r.pool,
		Search:          search.New(r.pool),
		Personal:        personal.New(r.pool),
		Blobs:           r.blobs,
		APIKeys:         apikeys.New(r.pool),
		Webhooks:        hooks,
		Mailboxes:       mailboxes,
		EReceipts:       ereceipts.NewStore(r.pool),
		EReceiptResults: ereceiptResults{hooks},
		RateLimits:      r.webRateLimits(),
		ClientIPHeader:  r.cfg.Guard.RateLimitClientIPHeader,
		PublicURL:       r.cfg.PublicURL,
		MaxFileSize:     r.cfg.MaxFileSize(),
		DeletionGrace:   r.cfg.DeletionGrace,
		Log:             r.log.With("component", "web"),
	}
	if m != nil && m.sender != nil {
		deps.Mailer = m.sender
	}
	return web.New(deps)
}

// firstAdmin is the account a fresh installation signs in with.
const firstAdmin = "admin@localhost"

// ensureFirstAdmin makes the default tenant's first admin when it has no
// member yet, with a random password written to DATA_DIR/admin-password
// (mode 0600) and shown once on the terminal (openTerminal), never logged.
// Another process that won the race to make it is fine.
func ensureFirstAdmin(ctx context.Context, rt *runtime) error {
	store := accounts.NewStore(rt.pool)
	has, err := store.HasAccounts(ctx, rt.cfg.DefaultTenant)
	if err != nil || has {
		return err
	}
	password := rand.Text() // 26 characters of base32: 130 bits
	_, err = store.Create(ctx, rt.cfg.DefaultTenant, firstAdmin, "Admin", accounts.RoleAdmin, password)
	if errors.Is(err, accounts.ErrAccountExists) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("first admin: %w", err)
	}
	if err := os.MkdirAll(rt.cfg.DataDir, 0o750); err != nil {
		return err
	}
	path := filepath.Join(rt.cfg.DataDir, "admin-password")
	if err := os.WriteFile(path, []byte(password+"\n"), 0o600); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	rt.log.Info("made the first admin of the web app", "tenant", rt.cfg.DefaultTenant, "password_file", path)
	if tty, err := openTerminal(); err == nil {
		fmt.Fprintf(tty, "Web app: %s/ - sign in as %s with password %s (also in %s; change it under Account)\n",
			rt.cfg.PublicURL, firstAdmin, password, path)
		tty.Close()
	}
	return nil
}
