-- Webhooks: a tenant's endpoints, the outbox of events to push to them, and every attempt
-- (docs/architecture.md, "Webhooks: the outbox and the endpoint actor").
CREATE TABLE webhooks (
  id                     uuid PRIMARY KEY,
  seq                    bigserial NOT NULL UNIQUE,
  tenant_id              uuid NOT NULL REFERENCES tenants(id),
  endpoint               text NOT NULL,
  events                 text[] NOT NULL,
  status                 text NOT NULL DEFAULT 'enabled' CHECK (status IN ('enabled', 'disabled')),
  -- Why it is disabled: 'manual' (PATCH) or 'failing' (every attempt failed for the
  -- configured time, 5 days by default, as Svix does).
  disabled_reason        text CHECK (disabled_reason IN ('manual', 'failing')),
  disabled_at            timestamptz,
  signing_secret         text NOT NULL,
  -- After a rotation the old secret signs too, until previous_secret_until (24 h).
  previous_secret        text,
  previous_secret_until  timestamptz,
  -- The first failed attempt since the last success; null while the endpoint answers 2xx.
  failing_since          timestamptz,
  created_at             timestamptz NOT NULL DEFAULT now()
);
-- The journal joins every batch of delivery events against a tenant's enabled webhooks.
CREATE INDEX webhooks_tenant_enabled ON webhooks (tenant_id) WHERE status = 'enabled';
CREATE INDEX webhooks_tenant_seq ON webhooks (tenant_id, seq DESC);

-- The outbox and the deliveries log: one row per (webhook, delivery event), inserted in the
-- statement that records the delivery event, so no event is lost when a node dies. The
-- payload is built when it is sent, from the delivery event and its message; the row id is
-- the event id receivers see (svix-id), the same on every attempt.
CREATE TABLE webhook_events (
  id                 uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  seq                bigserial NOT NULL UNIQUE,
  webhook_id         uuid NOT NULL REFERENCES webhooks(id) ON DELETE CASCADE,
  delivery_event_id  bigint NOT NULL,
  type               text NOT NULL,
  -- pending: waiting for next_attempt_at; attempting: claimed, next_attempt_at is the lease's
  -- end; success: a 2xx came back; failed: the retry schedule ran out.
  status             text NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'attempting', 'success', 'failed')),
  attempts           int NOT NULL DEFAULT 0,
  next_attempt_at    timestamptz DEFAULT now(),
  created_at         timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX webhook_events_due ON webhook_events (webhook_id, next_attempt_at)
  WHERE status IN ('pending', 'attempting');
-- The sweeper's look for endpoints with due events.
CREATE INDEX webhook_events_due_at ON webhook_events (next_attempt_at) WHERE status IN ('pending', 'attempting');
CREATE INDEX webhook_events_webhook_seq ON webhook_events (webhook_id, seq DESC);

CREATE TABLE webhook_attempts (
  id                uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  seq               bigserial NOT NULL UNIQUE,
  event_id          uuid NOT NULL REFERENCES webhook_events(id) ON DELETE CASCADE,
  sent_at           timestamptz NOT NULL,
  -- success (2xx), http_error (any other status), refused (the egress guard would not
  -- connect), network (DNS, connect, TLS, timeout).
  outcome           text NOT NULL CHECK (outcome IN ('success', 'http_error', 'refused', 'network')),
  http_status_code  int,
  -- The first 1 KB of the response body, or what went wrong.
  response          text,
  duration_ms       int NOT NULL
);
CREATE INDEX webhook_attempts_event ON webhook_attempts (event_id, seq);
