-- Per-tenant limits that hold across nodes (docs/operations.md, "Trust and safety").

-- The request rate of each tenant as GCRA state (core/delivery/throttle-spec.ts): one
-- theoretical arrival time per tenant, moved by one atomic upsert per request on the
-- database's clock, so every node takes from the same bucket. UNLOGGED: a take writes no
-- WAL, so its commit waits for no flush (a logged row cost ~4 ms a take, measured in
-- docs/operations.md); a crash empties the table, which only refills every bucket.
CREATE UNLOGGED TABLE tenant_rate (
  tenant_id  uuid PRIMARY KEY REFERENCES tenants(id) ON DELETE CASCADE,
  tat_ms     float8 NOT NULL
);

-- The operator's settings per tenant; a missing row or NULL column: the node's defaults,
-- -1: unlimited whatever the default.
-- ramp_cap is the sending ramp's current daily cap (NULL: no ramp), which applied from
-- ramp_day (UTC days since the epoch) and is looked at again on the next day.
CREATE TABLE tenant_limits (
  tenant_id      uuid PRIMARY KEY REFERENCES tenants(id) ON DELETE CASCADE,
  daily_quota    int CHECK (daily_quota >= -1),
  monthly_quota  int CHECK (monthly_quota >= -1),
  ramp_cap       int CHECK (ramp_cap >= 0),
  ramp_day       int,
  updated_at     timestamptz NOT NULL DEFAULT now()
);
-- Nodes cache these beside API keys; a change drops every node's copy (migration 008).
CREATE TRIGGER tenant_limits_changed AFTER INSERT OR UPDATE OR DELETE ON tenant_limits
  FOR EACH STATEMENT EXECUTE FUNCTION posthorn_notify_auth_change();

-- Recipients accepted per tenant per UTC day (period_start: days since the epoch) and per
-- UTC month (months since January 1970): quotas are taken here atomically before the
-- messages are stored, and given back if storing fails.
CREATE TABLE tenant_usage (
  tenant_id     uuid NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
  period        text NOT NULL CHECK (period IN ('day', 'month')),
  period_start  int NOT NULL,
  count         int NOT NULL,
  PRIMARY KEY (tenant_id, period, period_start)
);

-- Delivery outcomes per tenant, sending domain and minute: the sliding windows of trust and
-- safety and the sending ramp read these few rows instead of the delivery log. `sent`
-- counts recipients with a final SMTP outcome (delivered, or bounced in the transaction),
-- `hard_bounced` permanent bounces that say the address is bad (the categories that
-- suppress, core/suppression.ts), `complained` ARF complaints.
CREATE TABLE tenant_outcomes (
  tenant_id       uuid NOT NULL,
  sending_domain  text NOT NULL,
  bucket          timestamptz NOT NULL,
  -- Writers on different connections mostly add to different rows (pg_backend_pid() % 8):
  -- a counter row stays locked until its writer's commit is flushed, and one row per
  -- (tenant, domain, minute) would queue concurrent batches of a busy tenant behind it.
  shard           smallint NOT NULL,
  sent            int NOT NULL DEFAULT 0,
  hard_bounced    int NOT NULL DEFAULT 0,
  complained      int NOT NULL DEFAULT 0,
  PRIMARY KEY (tenant_id, sending_domain, bucket, shard)
);
CREATE INDEX tenant_outcomes_bucket ON tenant_outcomes (bucket);

-- Counted by a statement-level trigger, so every writer of the log (the journal, the bounce
-- intake) is covered and each statement adds one upsert per (tenant, domain, minute), in
-- key order so that concurrent batches lock rows in the same order. Its cost is within the
-- noise of the commit's flush (docs/operations.md, "Trust and safety").
CREATE FUNCTION posthorn_count_outcomes() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO tenant_outcomes AS o (tenant_id, sending_domain, bucket, shard, sent, hard_bounced, complained)
  SELECT n.tenant_id, n.sending_domain, date_trunc('minute', n.at), pg_backend_pid() % 8,
         count(*) FILTER (WHERE n.event = 'delivered'
                            OR (n.event = 'bounced' AND coalesce(n.detail, '') NOT LIKE 'async %')),
         count(*) FILTER (WHERE n.event = 'bounced'
                            AND n.category IN ('recipient_unknown', 'mailbox_disabled', 'domain_unknown', 'has_moved')),
         count(*) FILTER (WHERE n.event = 'complained')
  FROM new_events n
  WHERE n.event IN ('delivered', 'bounced', 'complained') AND n.sending_domain IS NOT NULL
  GROUP BY 1, 2, 3, 4
  ORDER BY 1, 2, 3, 4
  ON CONFLICT (tenant_id, sending_domain, bucket, shard) DO UPDATE
    SET sent = o.sent + EXCLUDED.sent,
        hard_bounced = o.hard_bounced + EXCLUDED.hard_bounced,
        complained = o.complained + EXCLUDED.complained;
  RETURN NULL;
END $$;
CREATE TRIGGER delivery_events_outcomes AFTER INSERT ON delivery_events
  REFERENCING NEW TABLE AS new_events FOR EACH STATEMENT EXECUTE FUNCTION posthorn_count_outcomes();

-- Automatic pauses made by trust and safety. A scope's window starts after its latest one,
-- so the outcomes that caused a pause do not pause it again once an operator resumes it.
CREATE TABLE auto_pauses (
  id         bigserial PRIMARY KEY,
  tenant_id  uuid NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
  scope      text NOT NULL CHECK (scope IN ('tenant', 'sending_domain')),
  value      text NOT NULL,
  reason     text NOT NULL,
  paused_at  timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX auto_pauses_tenant ON auto_pauses (tenant_id, paused_at);

-- A pause of a tenant or sending domain is an event of the tenant, not of one message: the
-- `paused` event carries no message id, and no sending domain or stream for a tenant pause.
ALTER TABLE delivery_events ALTER COLUMN message_id DROP NOT NULL;
ALTER TABLE delivery_events ALTER COLUMN sending_domain DROP NOT NULL;
ALTER TABLE delivery_events ALTER COLUMN message_type DROP NOT NULL;
