-- A warmup plan of the IP's own (core/warmup.ts WarmupPlan JSON); NULL: the default plan.
ALTER TABLE ips ADD COLUMN warmup_plan jsonb;
