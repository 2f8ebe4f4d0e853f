-- A message is committed first and handed to Temporal after the commit, so that a 2xx never
-- depends on Temporal answering in time. `workflow_started` stays false until its first
-- workflow (a delivery wave, or its own message workflow when scheduled) is confirmed
-- started; the node's start sweeper hands over whatever a crash or an unreachable Temporal
-- left behind. Rows from before this migration all had their workflow started.
ALTER TABLE messages ADD COLUMN workflow_started boolean NOT NULL DEFAULT true;
-- The node that accepted the message sweeps it first; any node does after a longer grace.
ALTER TABLE messages ADD COLUMN accepted_node text;
CREATE INDEX messages_workflow_unstarted ON messages (created_at) WHERE NOT workflow_started;
-- The delivery wave that claimed the message for its first attempt: set before any SMTP
-- transaction, so no two waves (nor a wave and a sweeper's wave) deliver the same message.
ALTER TABLE messages ADD COLUMN wave_id text;
