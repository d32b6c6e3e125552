-- E-mail preferences and process-wide secrets: settings, not history.
-- +goose Up
CREATE TABLE notification_preferences (
    tenant        TEXT NOT NULL,
    user_email    TEXT NOT NULL,
    email_enabled BOOLEAN NOT NULL,
    updated_at    TIMESTAMPTZ NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant, user_email)
);

-- secrets holds values every process of a deployment must share, such as
-- the key that signs unsubscribe links; made once, on first use.
CREATE TABLE secrets (
    name       TEXT PRIMARY KEY,
    value      BYTEA NOT NULL,
    created_at TIMESTAMPTZ NOT NULL DEFAULT now()
);

-- +goose Down
DROP TABLE secrets;
DROP TABLE notification_preferences;
