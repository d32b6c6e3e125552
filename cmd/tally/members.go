package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"

	"tally/accounts"
	"tally/domain"
	"tally/migrations"
	"tally/web"
)

// runMembers is `tally members invite --tenant T --role admin|member
// EMAIL`: it makes an invitation and e-mails its link, or prints the link
// when no SMTP_URL is set (to be passed on by hand).
func runMembers(ctx context.Context, rt *runtime, args []string, stdout io.Writer) error {
	const usage = "usage: tally members invite [--tenant NAME] [--role admin|member] EMAIL"
	if len(args) == 0 || args[0] != "invite" {
		return errors.New(usage)
	}
	fs := flag.NewFlagSet("members invite", flag.ContinueOnError)
	tenant := fs.String("tenant", rt.cfg.DefaultTenant, "tenant the member joins")
	role := fs.String("role", accounts.RoleMember, "admin or member")
	if err := fs.Parse(args[1:]); err != nil {
		return err
	}
	if fs.NArg() != 1 {
		return errors.New(usage)
	}
	email, err := accounts.NormalizeEmail(fs.Arg(0))
	if err != nil {
		return fmt.Errorf("invite: %s", accounts.Message(err))
	}
	if !domain.ValidTenant(*tenant) {
		return fmt.Errorf("tenant %q must be 1-63 lower-case letters, digits, '-' or '_'", *tenant)
	}
	if _, err := migrations.Apply(ctx, rt.cfg.DatabaseURL); err != nil {
		return err
	}
	if err := rt.openDatabase(ctx); err != nil {
		return err
	}
	token, err := accounts.NewStore(rt.pool).Invite(ctx, *tenant, email, *role)
	if msg := accounts.Message(err); msg != "" {
		return fmt.Errorf("invite %s: %s", email, msg)
	}
	if err != nil {
		return err
	}
	link := web.InviteLink(rt.cfg.PublicURL, token)
	m, err := rt.openMailer()
	if err != nil {
		return err
	}
	if m.sender == nil {
		fmt.Fprintf(stdout, "No SMTP_URL is set: pass this link on to %s (it works once, for %d days):\n%s\n",
			email, int(accounts.InviteTTL.Hours()/24), link)
		return nil
	}
	if err := m.sender.Send(ctx, accounts.InvitationMessage(email, *tenant, *role, link)); err != nil {
		return fmt.Errorf("send the invitation to %s: %w (the link, to pass on by hand: %s)", email, err, link)
	}
	fmt.Fprintf(stdout, "Invitation sent to %s.\n", email)
	return nil
}
