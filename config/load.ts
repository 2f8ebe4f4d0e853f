import { readFileSync } from 'node:fs';
import { type Config, configSchema } from './schema.js';

/** Environment variable → config key. Lists are comma-separated. */
const ENV: Record<string, { key: string; list?: true; json?: true }> = {
  POSTHORN_API_PORT: { key: 'apiPort' },
  POSTHORN_API_HOST: { key: 'apiHost' },
  POSTHORN_DATA_DIR: { key: 'dataDir' },
  POSTHORN_DNS_SERVERS: { key: 'dnsServers', list: true },
  POSTHORN_DNS_TIMEOUT: { key: 'dnsTimeout' },
  POSTHORN_DNS_SHORT_TTL: { key: 'dnsShortTtl' },
  POSTHORN_SMTP_PORT: { key: 'smtpPort' },
  POSTHORN_EGRESS_IPS: { key: 'egressIps', list: true },
  POSTHORN_HOSTNAME: { key: 'hostname' },
  POSTHORN_NODE_ID: { key: 'nodeId' },
  DATABASE_URL: { key: 'databaseUrl' },
  TEMPORAL_ADDRESS: { key: 'temporalAddress' },
  TEMPORAL_NAMESPACE: { key: 'temporalNamespace' },
  POSTHORN_TEMPORAL_UI_PORT: { key: 'temporalUiPort' },
  POSTHORN_TEMPORAL_UI_URL: { key: 'temporalUiUrl' },
  POSTHORN_TEMPORAL_PORT: { key: 'temporalPort' },
  POSTHORN_SMTP_CONNECT_TIMEOUT: { key: 'smtpConnectTimeout' },
  POSTHORN_SMTP_GREETING_TIMEOUT: { key: 'smtpGreetingTimeout' },
  POSTHORN_SMTP_COMMAND_TIMEOUT: { key: 'smtpCommandTimeout' },
  POSTHORN_RETRY_INITIAL: { key: 'retryInitial' },
  POSTHORN_RETRY_FACTOR: { key: 'retryFactor' },
  POSTHORN_RETRY_MAX: { key: 'retryMax' },
  POSTHORN_RETRY_MAX_AGE: { key: 'retryMaxAge' },
  POSTHORN_RETRY_GREYLIST: { key: 'retryGreylist' },
  POSTHORN_EGRESS_PICKUP_TIMEOUT: { key: 'egressPickupTimeout' },
  POSTHORN_LOG_LEVEL: { key: 'logLevel' },
  POSTHORN_EVENT_RETENTION: { key: 'eventRetention' },
  POSTHORN_BODY_RETENTION: { key: 'bodyRetention' },
  POSTHORN_HEALTH_STUCK_AFTER: { key: 'healthStuckAfter' },
  POSTHORN_SECRET_KEY: { key: 'secretKey' },
  POSTHORN_ADMIN_TOKEN: { key: 'adminToken' },
  POSTHORN_WARMUP_DAY: { key: 'warmupDay' },
  POSTHORN_REPUTATION_SCALE: { key: 'reputationScale' },
  POSTHORN_FEEDBACK_WINDOW: { key: 'feedbackWindow' },
  POSTHORN_WAVE_MAX: { key: 'waveMax' },
  POSTHORN_CPU_WORKERS: { key: 'cpuWorkers' },
  POSTHORN_WAVE_WINDOW: { key: 'waveWindow' },
  POSTHORN_API_RATE: { key: 'apiRate' },
  POSTHORN_TENANT_DAILY_QUOTA: { key: 'tenantDailyQuota' },
  POSTHORN_TENANT_MONTHLY_QUOTA: { key: 'tenantMonthlyQuota' },
  POSTHORN_TENANT_RAMP: { key: 'tenantRamp' },
  POSTHORN_SAFETY: { key: 'safety' },
  POSTHORN_SAFETY_BOUNCE_RATE: { key: 'safetyBounceRate' },
  POSTHORN_SAFETY_COMPLAINT_RATE: { key: 'safetyComplaintRate' },
  POSTHORN_SAFETY_MIN_VOLUME: { key: 'safetyMinVolume' },
  POSTHORN_SAFETY_WINDOW: { key: 'safetyWindow' },
  POSTHORN_SAFETY_INTERVAL: { key: 'safetyInterval' },
  POSTHORN_ALLOW_LOOPBACK: { key: 'allowLoopback' },
  // The earlier, MX-only name of the same switch.
  POSTHORN_ALLOW_LOOPBACK_MX: { key: 'allowLoopback' },
  POSTHORN_EGRESS_LIMITS: { key: 'egressLimits', json: true },
  POSTHORN_RETURN_PATH_SUBDOMAIN: { key: 'returnPathSubdomain' },
  POSTHORN_DOMAIN_CHECK_INTERVAL: { key: 'domainCheckInterval' },
  POSTHORN_DOMAIN_RECHECK_INTERVAL: { key: 'domainRecheckInterval' },
  POSTHORN_DOMAIN_VERIFY_TIMEOUT: { key: 'domainVerifyTimeout' },
  POSTHORN_INBOUND_PORT: { key: 'inboundPort' },
  POSTHORN_INBOUND_HOST: { key: 'inboundHost' },
  POSTHORN_SUBMISSION_PORT: { key: 'submissionPort' },
  POSTHORN_SUBMISSIONS_PORT: { key: 'submissionsPort' },
  POSTHORN_SUBMISSION_HOST: { key: 'submissionHost' },
  POSTHORN_TLS_CERT: { key: 'tlsCert' },
  POSTHORN_TLS_KEY: { key: 'tlsKey' },
  POSTHORN_MTA_STS: { key: 'mtaSts' },
  POSTHORN_MTA_STS_CA: { key: 'mtaStsCa' },
  POSTHORN_MTA_STS_PORT: { key: 'mtaStsPort' },
  POSTHORN_METRICS: { key: 'metrics' },
  POSTHORN_METRICS_PORT: { key: 'metricsPort' },
  POSTHORN_METRICS_HOST: { key: 'metricsHost' },
  POSTHORN_METRICS_TOP_N: { key: 'metricsTopN' },
  POSTHORN_TEMPORAL_METRICS: { key: 'temporalMetrics' },
  POSTHORN_DOGSTATSD: { key: 'dogstatsd' },
  POSTHORN_TRACE_WORKFLOWS: { key: 'traceWorkflows' },
  POSTHORN_WEBHOOK_RETRY_SCALE: { key: 'webhookRetryScale' },
  POSTHORN_WEBHOOK_CONCURRENCY: { key: 'webhookConcurrency' },
  POSTHORN_WEBHOOK_DISABLE_AFTER: { key: 'webhookDisableAfter' },
};

export type ConfigLoad = { ok: true; config: Config } | { ok: false; problems: string[] };

/**
 * Reads the optional JSON file named by POSTHORN_CONFIG, lays the environment over it,
 * validates once and reports every problem together. The result is frozen.
 */
export function loadConfig(env: NodeJS.ProcessEnv, defaults: { hostname: string }): ConfigLoad {
  const problems: string[] = [];
  let fromFile: Record<string, unknown> = {};
  if (env.POSTHORN_CONFIG) {
    try {
      fromFile = JSON.parse(readFileSync(env.POSTHORN_CONFIG, 'utf8'));
    } catch (err) {
      problems.push(`POSTHORN_CONFIG (${env.POSTHORN_CONFIG}): ${(err as Error).message}`);
    }
  }
  const raw: Record<string, unknown> = { hostname: defaults.hostname, ...fromFile };
  const sourceOf: Record<string, string> = {};
  for (const [name, { key, list, json }] of Object.entries(ENV)) {
    const value = env[name];
    if (value === undefined || value === '') continue;
    if (json) {
      try {
        raw[key] = JSON.parse(value);
      } catch (err) {
        problems.push(`${name}: not JSON (${(err as Error).message})`);
      }
      sourceOf[key] = name;
      continue;
    }
    raw[key] = list
      ? value
          .split(',')
          .map((s) => s.trim())
          .filter(Boolean)
      : value;
    sourceOf[key] = name;
  }
  const parsed = configSchema.safeParse(raw);
  if (!parsed.success) {
    for (const issue of parsed.error.issues) {
      const key = String(issue.path[0] ?? '');
      const where = sourceOf[key] ?? (key ? `config.${issue.path.join('.')}` : 'config');
      problems.push(`${where}: ${issue.message}`);
    }
  }
  if (problems.length > 0 || !parsed.success) return { ok: false, problems };
  return { ok: true, config: Object.freeze(parsed.data) };
}
