-- Nodes cache API keys, tenants and sending domains for the accept path (one lookup per
-- key and domain instead of two queries per request). Any change to them, through
-- Posthorn or plain SQL, tells every node to drop its copies at once.
CREATE FUNCTION posthorn_notify_auth_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  PERFORM pg_notify('posthorn_auth', TG_TABLE_NAME);
  RETURN NULL;
END $$;
CREATE TRIGGER api_keys_changed AFTER INSERT OR UPDATE OR DELETE ON api_keys
  FOR EACH STATEMENT EXECUTE FUNCTION posthorn_notify_auth_change();
CREATE TRIGGER domains_changed AFTER INSERT OR UPDATE OR DELETE ON domains
  FOR EACH STATEMENT EXECUTE FUNCTION posthorn_notify_auth_change();
CREATE TRIGGER tenants_changed AFTER INSERT OR UPDATE OR DELETE ON tenants
  FOR EACH STATEMENT EXECUTE FUNCTION posthorn_notify_auth_change();
