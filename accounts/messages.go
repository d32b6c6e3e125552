package accounts

import (
	"fmt"

	"tally/mail"
)

// InvitationMessage is the e-mail that carries an invitation link.
func InvitationMessage(to, tenant, role, link string) mail.Message {
	return mail.Message{
		To:      to,
		Subject: "You are invited to Tally",
		Text: fmt.Sprintf("You are invited to join %q on Tally as %s.\n\nChoose your name and password here "+
			"(the link works once, for %d days):\n\n%s\n\nIf you did not expect this, ignore this e-mail.\n",
			tenant, role, int(InviteTTL.Hours()/24), link),
	}
}

// ResetMessage is the e-mail that carries a password reset link.
func ResetMessage(to, link string) mail.Message {
	return mail.Message{
		To:      to,
		Subject: "Reset your Tally password",
		Text: fmt.Sprintf("Someone asked to reset the password of this Tally account.\n\nChoose a new password here "+
			"(the link works once, for %d minutes):\n\n%s\n\nIf it was not you, ignore this e-mail: your password stays.\n",
			int(ResetTTL.Minutes()), link),
	}
}
