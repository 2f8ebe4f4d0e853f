-- Per-tenant suppression list (Resend: origin bounce | complaint | manual, source_id = the
-- email that caused it). Addresses are stored lowercased: providers treat local parts
-- case-insensitively in practice, and a miss here means mailing a known-bad address.
CREATE TABLE suppressions (
  id                 uuid PRIMARY KEY,
  tenant_id          uuid NOT NULL REFERENCES tenants(id),
  email              text NOT NULL,
  origin             text NOT NULL CHECK (origin IN ('bounce', 'complaint', 'manual')),
  reason             text NOT NULL,
  source_message_id  uuid,
  created_at         timestamptz NOT NULL DEFAULT now(),
  UNIQUE (tenant_id, email)
);
CREATE INDEX suppressions_tenant_created ON suppressions (tenant_id, created_at DESC, id);
