-- Sending pools: a tenant's dedicated pool, or a shared pool per message type
-- (message_type NULL: the shared pool for both streams).
CREATE TABLE pools (
  name          text PRIMARY KEY,
  tenant_id     uuid REFERENCES tenants(id),
  message_type  text CHECK (message_type IN ('transactional', 'marketing')),
  created_at    timestamptz NOT NULL DEFAULT now()
);
-- At most one dedicated pool per (tenant, stream) and one shared pool per stream.
CREATE UNIQUE INDEX pools_dedicated ON pools (tenant_id, coalesce(message_type, '*')) WHERE tenant_id IS NOT NULL;
CREATE UNIQUE INDEX pools_shared ON pools (coalesce(message_type, '*')) WHERE tenant_id IS NULL;

-- Sending IPs: each bound to the node that owns the address, in one pool.
CREATE TABLE ips (
  address     text PRIMARY KEY,
  pool        text NOT NULL REFERENCES pools(name),
  ehlo_name   text NOT NULL,
  node_id     text NOT NULL,
  weight      int NOT NULL DEFAULT 100 CHECK (weight >= 0),
  -- false: the IP starts its warmup plan when its workflow first starts.
  warm        boolean NOT NULL DEFAULT true,
  created_at  timestamptz NOT NULL DEFAULT now()
);

-- What each IP's workflow last published for routing (core/ip-actor-types.ts IpRouteState).
CREATE TABLE route_state (
  ip          text PRIMARY KEY,
  state       jsonb NOT NULL,
  updated_at  timestamptz NOT NULL DEFAULT now()
);

-- Messages sent per (IP, provider) per warmup period: a cap is taken atomically here, so
-- it holds exactly across activities, retries and restarts.
CREATE TABLE ip_usage (
  ip            text NOT NULL,
  provider      text NOT NULL,
  period        text NOT NULL CHECK (period IN ('day', 'hour')),
  period_start  bigint NOT NULL,
  count         int NOT NULL,
  PRIMARY KEY (ip, provider, period, period_start)
);

-- Operator pauses beyond single IPs, as published by the control workflow.
CREATE TABLE pauses (
  scope       text NOT NULL CHECK (scope IN ('domain', 'provider', 'tenant', 'sending_domain')),
  value       text NOT NULL,
  until_ms    bigint,
  reason      text NOT NULL,
  actor       text NOT NULL,
  created_at  timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (scope, value)
);

-- Messages waiting on an operator pause, so that resuming releases them at once (a
-- signal to each workflow) instead of every held workflow polling.
CREATE TABLE held_messages (
  message_id  uuid NOT NULL,
  domain      text NOT NULL,
  scope       text NOT NULL,
  value       text NOT NULL,
  held_at     timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (message_id, domain)
);
CREATE INDEX held_messages_pause ON held_messages (scope, value);
