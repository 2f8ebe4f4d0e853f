-- The delivery log partitioned by day (UTC), so that retention drops whole days
-- (POSTHORN_EVENT_RETENTION; docs/operations.md, "Retention") instead of deleting rows,
-- and time-ranged reads touch only their days. Rows move once, here: on a large log this
-- migration takes as long as copying it (docs/operations.md, "Upgrades").

-- A daily partition, with the indexes every partition carries. The partial unique index
-- that keeps `delivery_delayed` once per message lives on each partition: a partitioned
-- table's unique index must contain the partition key. The notice is written at a
-- message's first deferral and a retried write lands within minutes, so per day is the
-- scope that matters. A day whose rows already sit in the default partition keeps them
-- there (moving them would need the table locked); false when nothing was made.
CREATE FUNCTION posthorn_event_partition(day date) RETURNS boolean LANGUAGE plpgsql AS $$
DECLARE
  name text := format('delivery_events_%s', to_char(day, 'YYYYMMDD'));
  lower timestamptz := (day::timestamp AT TIME ZONE 'UTC');
  upper timestamptz := ((day + 1)::timestamp AT TIME ZONE 'UTC');
BEGIN
  IF to_regclass(name) IS NOT NULL THEN
    RETURN false;
  END IF;
  IF EXISTS (SELECT 1 FROM delivery_events_default WHERE at >= lower AND at < upper) THEN
    RETURN false;
  END IF;
  EXECUTE format('CREATE TABLE %I PARTITION OF delivery_events FOR VALUES FROM (%L) TO (%L)', name, lower, upper);
  EXECUTE format('CREATE UNIQUE INDEX %I ON %I (message_id) WHERE event = ''delivery_delayed''',
                 name || '_delayed_once', name);
  RETURN true;
END $$;

ALTER TABLE delivery_events RENAME TO delivery_events_unpartitioned;
ALTER SEQUENCE delivery_events_id_seq OWNED BY NONE;

CREATE TABLE delivery_events (LIKE delivery_events_unpartitioned INCLUDING DEFAULTS INCLUDING STORAGE)
  PARTITION BY RANGE (at);
ALTER SEQUENCE delivery_events_id_seq OWNED BY delivery_events.id;
-- Rows for a day without its own partition (a restored backup's old days, a clock far
-- ahead): kept, read and dropped by retention like the rest.
CREATE TABLE delivery_events_default PARTITION OF delivery_events DEFAULT;
CREATE UNIQUE INDEX delivery_events_default_delayed_once ON delivery_events_default (message_id)
  WHERE event = 'delivery_delayed';

SELECT posthorn_event_partition(d::date)
FROM generate_series(
  coalesce((SELECT min(at) AT TIME ZONE 'UTC' FROM delivery_events_unpartitioned), now() AT TIME ZONE 'UTC')::date,
  (now() AT TIME ZONE 'UTC')::date + 7,
  interval '1 day') AS d;

INSERT INTO delivery_events SELECT * FROM delivery_events_unpartitioned;
DROP TABLE delivery_events_unpartitioned;

-- The same keys and indexes as before (the primary key now with the partition key), on
-- every partition.
ALTER TABLE delivery_events ADD PRIMARY KEY (id, at);
CREATE INDEX delivery_events_message ON delivery_events (message_id, id);
CREATE INDEX delivery_events_tenant_at ON delivery_events (tenant_id, at);
CREATE INDEX delivery_events_rdomain_at ON delivery_events (recipient_domain, at);
CREATE INDEX delivery_events_ip_at ON delivery_events (ip, at);
CREATE INDEX delivery_events_at_brin ON delivery_events USING brin (at);

-- Trust and safety's outcome counts (013), on the new table.
CREATE TRIGGER delivery_events_outcomes AFTER INSERT ON delivery_events
  REFERENCING NEW TABLE AS new_events FOR EACH STATEMENT EXECUTE FUNCTION posthorn_count_outcomes();

-- Bodies past retention are emptied (MIME, html, text); this index finds the ones left.
CREATE INDEX messages_body_kept ON messages (created_at) WHERE octet_length(mime) > 0;
