-- The journal updates recipients by (message_id, address), many per statement (a join with
-- unnest). The primary key (message_id, idx) serves that join only through message_id, and
-- without column statistics (a new database, or a table that grew faster than autovacuum
-- analyzes it) the planner takes message_id to match 0.5% of the rows and prefers a
-- sequential scan of the whole table for every journal write: O(rows) per batch, O(n²) over
-- a burst. With both columns in one index each update is one index probe, statistics or not.
-- Built inside the upgrade's transaction, so writes to recipients wait while it builds
-- (docs/operations.md, "Upgrades").
CREATE INDEX recipients_message_address ON recipients (message_id, address);
