-- The Domains and API keys APIs (Resend's shape).
--
-- Domains get Resend's settings (region, tracking flags, TLS mode, all stored as given), the
-- time their status began (the verification give-up counts from it) and a soft delete: a
-- deleted domain's accepted messages still reference it and are still delivered and signed,
-- while its name becomes free for a new domain at once.
ALTER TABLE domains
  ADD COLUMN region          text NOT NULL DEFAULT 'us-east-1',
  ADD COLUMN open_tracking   boolean NOT NULL DEFAULT false,
  ADD COLUMN click_tracking  boolean NOT NULL DEFAULT false,
  ADD COLUMN tls             text NOT NULL DEFAULT 'opportunistic' CHECK (tls IN ('opportunistic', 'enforced')),
  ADD COLUMN status_since    timestamptz NOT NULL DEFAULT now(),
  ADD COLUMN deleted_at      timestamptz;
ALTER TABLE domains DROP CONSTRAINT domains_name_key;
CREATE UNIQUE INDEX domains_live_name ON domains (name) WHERE deleted_at IS NULL;
CREATE INDEX domains_tenant_created ON domains (tenant_id, created_at DESC, id DESC) WHERE deleted_at IS NULL;

-- What the last DNS check saw, per record (core/domains/records.ts recordKey → status).
-- Apart from `domains` on purpose: every write to `domains` tells every node to drop its
-- key and domain caches (migration 008), and a check that changes no status is no reason.
CREATE TABLE domain_checks (
  domain_id      uuid PRIMARY KEY REFERENCES domains(id) ON DELETE CASCADE,
  record_status  jsonb NOT NULL,
  checked_at     timestamptz NOT NULL
);

-- When each key was last used, written at most once a minute per key and node. Apart from
-- api_keys for the same reason as domain_checks.
CREATE TABLE api_key_usage (
  key_id        uuid PRIMARY KEY REFERENCES api_keys(id) ON DELETE CASCADE,
  last_used_at  timestamptz NOT NULL
);
CREATE INDEX api_keys_tenant_created ON api_keys (tenant_id, created_at DESC, id DESC) WHERE revoked_at IS NULL;
