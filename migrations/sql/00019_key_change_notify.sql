-- API processes keep API keys and users' keys in memory (package keywatch).
-- Every change that can end one (a key revoked or expired, a user erased,
-- a key re-wrapped, rows deleted) notifies channel tally_keys when its
-- transaction commits, and each process then reads keys afresh. Inserts
-- end nothing, and last_used_at is not watched: it changes every minute.
-- +goose Up
-- +goose StatementBegin
CREATE FUNCTION notify_key_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('tally_keys', TG_TABLE_NAME);
    RETURN NULL;
END
$$;
-- +goose StatementEnd
CREATE TRIGGER api_keys_changed AFTER UPDATE OF tenant, key_hash, revoked_at, expires_at OR DELETE OR TRUNCATE
    ON api_keys FOR EACH STATEMENT EXECUTE FUNCTION notify_key_change();
CREATE TRIGGER user_keys_changed AFTER UPDATE OR DELETE OR TRUNCATE
    ON user_keys FOR EACH STATEMENT EXECUTE FUNCTION notify_key_change();

-- +goose Down
DROP TRIGGER user_keys_changed ON user_keys;
DROP TRIGGER api_keys_changed ON api_keys;
DROP FUNCTION notify_key_change();
