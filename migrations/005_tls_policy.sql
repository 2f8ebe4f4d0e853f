-- A tenant may require TLS for every delivery: STARTTLS with any certificate, never
-- plaintext (Postfix smtp_tls_security_level = encrypt). MTA-STS enforce, where a recipient
-- domain publishes it, applies on top and also checks the certificate (RFC 8461 §4.2).
ALTER TABLE tenants ADD COLUMN require_tls boolean NOT NULL DEFAULT false;
