-- DKIM keys per sending domain (RFC 6376; RSA and Ed25519 side by side, RFC 8463). The
-- private key is stored encrypted (AES-256-GCM under a key derived from the node's
-- secret, bound to "<domain>/<selector>"), never in a plain column.
CREATE TABLE dkim_keys (
  id               uuid PRIMARY KEY,
  domain_id        uuid NOT NULL REFERENCES domains(id) ON DELETE CASCADE,
  algorithm        text NOT NULL CHECK (algorithm IN ('rsa', 'ed25519')),
  selector         text NOT NULL,
  public_key       text NOT NULL,
  private_key_enc  text NOT NULL,
  status           text NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'retired')),
  created_at       timestamptz NOT NULL DEFAULT now(),
  UNIQUE (domain_id, selector)
);
