-- The delivery event's partition key beside its id. delivery_events is partitioned by day
-- (015) with the primary key (id, at): a webhook event that joins its delivery event by id
-- alone makes PostgreSQL probe that key in every day partition (a month of retention, 38 of
-- them) for each webhook sent. With `at` in the join, it prunes to the event's one day.
-- Rows whose event is gone (a day dropped by retention) keep NULL and, as before, join
-- nothing.
ALTER TABLE webhook_events ADD COLUMN delivery_event_at timestamptz;
UPDATE webhook_events we SET delivery_event_at = de.at FROM delivery_events de WHERE de.id = we.delivery_event_id;
