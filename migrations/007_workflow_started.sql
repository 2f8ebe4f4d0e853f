-- A message is committed first and its workflow started after the commit, so that a 2xx
-- never depends on Temporal answering in time. `workflow_started` stays false until the
-- start is confirmed; the node's start sweeper starts whatever a crash or an unreachable
-- Temporal left behind (idempotent: workflow id = message id). Rows from before this
-- migration all had their workflow started.
ALTER TABLE messages ADD COLUMN workflow_started boolean NOT NULL DEFAULT true;
CREATE INDEX messages_workflow_unstarted ON messages (created_at) WHERE NOT workflow_started;
