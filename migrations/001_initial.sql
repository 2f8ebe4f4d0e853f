-- Tenants own API keys, sending domains and messages.
CREATE TABLE tenants (
  id          uuid PRIMARY KEY,
  name        text NOT NULL UNIQUE,
  created_at  timestamptz NOT NULL DEFAULT now()
);

-- Keys are stored as SHA-256 of the token: tokens carry 192 random bits, so a fast hash
-- is enough (no dictionary to attack) and lets the lookup be an index probe.
CREATE TABLE api_keys (
  id            uuid PRIMARY KEY,
  tenant_id     uuid NOT NULL REFERENCES tenants(id),
  name          text NOT NULL,
  token_hash    bytea NOT NULL UNIQUE,
  token_prefix  text NOT NULL,
  permission    text NOT NULL CHECK (permission IN ('full_access', 'sending_access')),
  domain_id     uuid,
  created_at    timestamptz NOT NULL DEFAULT now(),
  last_used_at  timestamptz,
  revoked_at    timestamptz
);

-- A domain name is owned by one tenant at most: two tenants cannot both send as it.
CREATE TABLE domains (
  id          uuid PRIMARY KEY,
  tenant_id   uuid NOT NULL REFERENCES tenants(id),
  name        text NOT NULL UNIQUE,
  status      text NOT NULL CHECK (status IN ('not_started', 'pending', 'verified', 'failed', 'temporary_failure')),
  created_at  timestamptz NOT NULL DEFAULT now()
);

-- The message as accepted. `mime` is the body, built once at accept time and stored
-- once; workflows carry only the id.
CREATE TABLE messages (
  id              uuid PRIMARY KEY,
  seq             bigserial NOT NULL UNIQUE,
  tenant_id       uuid NOT NULL REFERENCES tenants(id),
  domain_id       uuid NOT NULL REFERENCES domains(id),
  message_type    text NOT NULL,
  from_header     text NOT NULL,
  subject         text NOT NULL,
  to_addrs        jsonb NOT NULL,
  cc_addrs        jsonb,
  bcc_addrs       jsonb,
  reply_to        jsonb,
  html            text,
  text_body       text,
  tags            jsonb,
  message_id_hdr  text NOT NULL,
  mime            bytea NOT NULL,
  scheduled_at    timestamptz,
  created_at      timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX messages_tenant_seq ON messages (tenant_id, seq DESC);

-- One row per envelope recipient; `state` is the latest outcome for that recipient.
CREATE TABLE recipients (
  message_id  uuid NOT NULL REFERENCES messages(id) ON DELETE CASCADE,
  idx         int NOT NULL,
  address     text NOT NULL,
  domain      text NOT NULL,
  state       text NOT NULL CHECK (state IN ('queued', 'deferred', 'delivered', 'bounced', 'failed', 'suppressed')),
  attempts    int NOT NULL DEFAULT 0,
  last_reply  text,
  updated_at  timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (message_id, idx)
);

-- Append-only delivery log: one row per event, with every dimension that debugging by
-- customer, domain, provider, route, IP, message type and event needs (DESIGN.md §3.3).
CREATE TABLE delivery_events (
  id                bigserial PRIMARY KEY,
  at                timestamptz NOT NULL DEFAULT now(),
  message_id        uuid NOT NULL,
  tenant_id         uuid NOT NULL,
  event             text NOT NULL,
  recipient         text,
  sending_domain    text NOT NULL,
  recipient_domain  text,
  message_type      text NOT NULL,
  provider          text,
  pool              text,
  ip                text,
  mx_host           text,
  mx_address        text,
  attempt           int,
  reply_code        int,
  enhanced_status   text,
  reply_text        text,
  phase             text,
  category          text,
  tls               text,
  duration_ms       int,
  detail            text
);
CREATE INDEX delivery_events_message ON delivery_events (message_id, id);
CREATE INDEX delivery_events_tenant_at ON delivery_events (tenant_id, at);
CREATE INDEX delivery_events_rdomain_at ON delivery_events (recipient_domain, at);
CREATE INDEX delivery_events_ip_at ON delivery_events (ip, at);
-- delivery_delayed is emitted once per message, whatever the number of attempts.
CREATE UNIQUE INDEX delivery_events_delayed_once ON delivery_events (message_id) WHERE event = 'delivery_delayed';

-- Idempotency-Key records (Resend semantics: 24 h, same body → same answer).
CREATE TABLE idempotency_keys (
  tenant_id      uuid NOT NULL,
  endpoint       text NOT NULL,
  key            text NOT NULL,
  request_hash   text NOT NULL,
  state          text NOT NULL CHECK (state IN ('in_progress', 'done')),
  status_code    int,
  response_body  jsonb,
  created_at     timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (tenant_id, endpoint, key)
);
