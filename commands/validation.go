package commands

import "tally/domain"

// validateMeta checks what every command carries; the rules themselves
// (tenant names, e-mails, fields) live in domain.
func validateMeta(m Meta) error {
	if err := domain.ValidateTenant(m.Tenant); err != nil {
		return err
	}
	if len(m.CommandID) > 200 {
		return domain.Invalid("command id longer than 200 characters")
	}
	return nil
}
