-- A scheduled send canceled before its time (POST /emails/{id}/cancel): its recipients end
-- as `canceled`, a final state like `failed`.
ALTER TABLE recipients DROP CONSTRAINT recipients_state_check;
ALTER TABLE recipients ADD CONSTRAINT recipients_state_check
  CHECK (state IN ('queued', 'deferred', 'delivered', 'bounced', 'failed', 'suppressed', 'canceled'));
