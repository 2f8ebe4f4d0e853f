-- Time-range reads across all tenants (the console's health view, /admin/events with a
-- range): delivery_events is append-only, so `at` follows the physical order and a BRIN
-- index (a few pages for millions of rows, next to no cost per insert) narrows a scan to
-- the blocks of the range.
CREATE INDEX delivery_events_at_brin ON delivery_events USING brin (at);
