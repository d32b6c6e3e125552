-- E-mail consent: notifications go only to addresses whose owner
-- confirmed them (a link mailed once, instead of the first e-mail).
-- email_enabled says what the user wants; confirmed_at that the address's
-- owner agreed; confirmation_sent_at that the one confirmation e-mail went
-- out. Unsubscribing, then asking for e-mails again, needs a new
-- confirmation.
-- +goose Up
ALTER TABLE notification_preferences
    ADD COLUMN confirmed_at TIMESTAMPTZ,
    ADD COLUMN confirmation_sent_at TIMESTAMPTZ;

-- +goose Down
ALTER TABLE notification_preferences DROP COLUMN confirmation_sent_at, DROP COLUMN confirmed_at;
