import { OTHER_PROVIDER, type ProviderId } from '../delivery/providers.js';
import type { IpControl, IpRouteState, NotableReply, OutcomeSummary } from './ip-actor-types.js';
import {
  addCounts,
  addToWindow,
  attemptsOf,
  type EffectKind,
  effectFor,
  firingRateRules,
  type OutcomeCounts,
  RATE_RULES,
  type ReputationOptions,
  type RuleEffect,
  reputationRuleFor,
  rollWindow,
  WINDOW_BUCKET_MS,
  type WindowBucket,
  windowChangeMs,
  windowTotals,
  ZERO_COUNTS,
} from './reputation.js';
import {
  capsForDay,
  DAY_MS,
  DEFAULT_WARMUP_PLAN,
  nextWarmupDay,
  type WarmupPlan,
  type WarmupState,
} from './warmup.js';

/**
 * The IP actor (docs/architecture.md, "The routing wing") as a pure reducer: the IP workflow
 * keeps an IpState, feeds it outcome summaries, operator controls and clock ticks, sleeps
 * until nextWakeMs, and publishes routeStateOf. Everything is plain versioned JSON: the state
 * is the workflow's continue-as-new input and its query answer.
 */

export interface OperatorPause {
  /** Until (ms), or null until resumed. */
  readonly untilMs: number | null;
  readonly reason: string;
  readonly actor: string;
  readonly sinceMs: number;
}

/** A reputation effect in force for one provider. */
export interface ActiveEffect {
  readonly ruleId: string;
  readonly provider: ProviderId;
  /** 'reply': a reply rule, extended by each match; 'rate': a rate rule, present while over threshold. */
  readonly source: 'reply' | 'rate';
  readonly kind: EffectKind;
  /** For lower_weight, the factor on the IP's weight for this provider; else null. */
  readonly weightFactor: number | null;
  readonly sinceMs: number;
  readonly untilMs: number;
  readonly matches: number;
  /** The last reply that matched, shortened: what an operator needs to see why. */
  readonly lastReply: string | null;
}

export interface IpState {
  readonly version: 1;
  readonly ip: string;
  /** Relative share among the pool's IPs (ips.weight). */
  readonly baseWeight: number;
  /** Null once warm. */
  readonly warmup: WarmupState | null;
  readonly pause: OperatorPause | null;
  readonly providerPauses: Readonly<Record<ProviderId, OperatorPause>>;
  /** Keyed `${ruleId}|${provider}`. */
  readonly effects: Readonly<Record<string, ActiveEffect>>;
  /** Provider → outcome counts in 5 min buckets over the last hour. */
  readonly windows: Readonly<Record<ProviderId, readonly WindowBucket[]>>;
  readonly updatedMs: number;
  /**
   * Multiplies every effect's duration (1 in production). Tests set it small so that a
   * 2 h suspension expires in seconds; nothing else about the rules changes.
   */
  readonly effectScale?: number;
}

export interface FiredEffect {
  readonly ruleId: string;
  readonly provider: ProviderId;
  readonly effect: RuleEffect;
  readonly untilMs: number;
}

/** Replies read per provider per summary; the dispatcher sends "at most a few". */
export const MAX_NOTABLE_PER_PROVIDER = 10;
/** Providers with their own window; beyond this, outcomes count under "other" (bounds the state). */
export const MAX_TRACKED_PROVIDERS = 64;
const MAX_REPLY_CHARS = 200;

export function initialIpState(
  ip: string,
  opts: {
    warm: boolean;
    plan?: WarmupPlan;
    nowMs: number;
    dayMs?: number;
    weight?: number;
    effectScale?: number;
  },
): IpState {
  const warmup: WarmupState | null = opts.warm
    ? null
    : {
        plan: opts.plan ?? DEFAULT_WARMUP_PLAN,
        day: 1,
        dayStartedMs: opts.nowMs,
        dayMs: opts.dayMs ?? DAY_MS,
        attemptsThisDay: 0,
      };
  return {
    version: 1,
    ip,
    baseWeight: opts.weight ?? 100,
    warmup,
    pause: null,
    providerPauses: {},
    effects: {},
    windows: {},
    updatedMs: opts.nowMs,
    ...(opts.effectScale !== undefined && opts.effectScale !== 1 ? { effectScale: opts.effectScale } : {}),
  };
}

/** Weight or plan changed in configuration (ips.weight, an operator's plan override). */
export function reconfigure(
  state: IpState,
  change: { weight?: number; plan?: WarmupPlan },
  nowMs: number,
): IpState {
  return {
    ...state,
    baseWeight: change.weight ?? state.baseWeight,
    warmup: state.warmup && change.plan ? { ...state.warmup, plan: change.plan } : state.warmup,
    updatedMs: nowMs,
  };
}

function effectKey(ruleId: string, provider: ProviderId): string {
  return `${ruleId}|${provider}`;
}

function describeReply(r: NotableReply): string {
  const text = [String(r.code), r.enhanced ?? '', r.text].filter((p) => p !== '').join(' ');
  return text.length > MAX_REPLY_CHARS ? `${text.slice(0, MAX_REPLY_CHARS - 1)}…` : text;
}

function isActive(untilMs: number | null, nowMs: number): boolean {
  return untilMs === null || untilMs > nowMs;
}

/** Windows rolled to `nowMs`, empty ones dropped. */
function rolledWindows(windows: IpState['windows'], nowMs: number): Record<ProviderId, WindowBucket[]> {
  const out: Record<ProviderId, WindowBucket[]> = {};
  for (const [provider, buckets] of Object.entries(windows)) {
    const kept = rollWindow(buckets, nowMs);
    if (kept.length > 0) out[provider] = kept;
  }
  return out;
}

/** Rate rules are level-triggered: on while over threshold, off as soon as the window is healthy. */
/** An effect as kept in the state; `sinceMs` stays that of the first match. */
function activeEffect(
  ruleId: string,
  provider: ProviderId,
  source: ActiveEffect['source'],
  effect: RuleEffect,
  existing: ActiveEffect | undefined,
  at: { untilMs: number; matches: number; lastReply: string | null; nowMs: number },
): ActiveEffect {
  return {
    ruleId,
    provider,
    source,
    kind: effect.kind,
    weightFactor: effect.kind === 'lower_weight' ? effect.weightFactor : null,
    sinceMs: existing?.sinceMs ?? at.nowMs,
    untilMs: at.untilMs,
    matches: at.matches,
    lastReply: at.lastReply,
  };
}

function applyRateRules(
  effects: Record<string, ActiveEffect>,
  windows: Readonly<Record<ProviderId, readonly WindowBucket[]>>,
  nowMs: number,
  scale: number,
  fired: FiredEffect[],
): void {
  for (const [key, e] of Object.entries(effects)) {
    if (e.source === 'rate' && windows[e.provider] === undefined) delete effects[key];
  }
  for (const [provider, buckets] of Object.entries(windows)) {
    const firing = new Set(firingRateRules(windowTotals(buckets, nowMs)).map((r) => r.id));
    for (const rule of RATE_RULES) {
      const key = effectKey(rule.id, provider);
      if (!firing.has(rule.id)) {
        delete effects[key];
        continue;
      }
      const effect = rule.effect;
      const untilMs = nowMs + effect.durationMs * scale;
      const existing = effects[key];
      effects[key] = activeEffect(rule.id, provider, 'rate', effect, existing, {
        untilMs,
        matches: existing?.matches ?? 1,
        lastReply: null,
        nowMs,
      });
      if (!existing) fired.push({ ruleId: rule.id, provider, effect, untilMs });
    }
  }
}

function dropExpired(effects: Record<string, ActiveEffect>, nowMs: number): void {
  for (const [key, e] of Object.entries(effects)) {
    if (e.untilMs <= nowMs) delete effects[key];
  }
}

function activePauses(pauses: IpState['providerPauses'], nowMs: number): Record<ProviderId, OperatorPause> {
  const out: Record<ProviderId, OperatorPause> = {};
  for (const [provider, p] of Object.entries(pauses)) if (isActive(p.untilMs, nowMs)) out[provider] = p;
  return out;
}

/**
 * Folds one summary in: counts into the provider windows, each notable reply through the reply
 * rules (a match sets or extends an effect), then the rate rules. Returns what fired, for the
 * workflow to log and to publish. A summary for another IP is ignored.
 */
export function applyOutcomes(
  state: IpState,
  summary: OutcomeSummary,
  nowMs: number,
  options: ReputationOptions = {},
): { state: IpState; fired: FiredEffect[] } {
  if (summary.ip !== state.ip) return { state, fired: [] };
  const windows = rolledWindows(state.windows, nowMs);
  const effects: Record<string, ActiveEffect> = { ...state.effects };
  const fired: FiredEffect[] = [];
  let attempts = 0;

  for (const [reported, outcomes] of Object.entries(summary.byProvider)) {
    const tracked = windows[reported] !== undefined || Object.keys(windows).length < MAX_TRACKED_PROVIDERS;
    const provider = tracked ? reported : OTHER_PROVIDER;
    const counts: OutcomeCounts = addCounts(ZERO_COUNTS, outcomes);
    if (attemptsOf(counts) + counts.complaints > 0)
      windows[provider] = addToWindow(windows[provider] ?? [], counts, nowMs);
    attempts += attemptsOf(counts);

    for (const reply of outcomes.notable.slice(0, MAX_NOTABLE_PER_PROVIDER)) {
      const rule = reputationRuleFor(provider, reply, options);
      if (!rule) continue;
      const effect = effectFor(rule, provider);
      const key = effectKey(rule.ruleId, provider);
      const existing = effects[key];
      const untilMs = Math.max(existing?.untilMs ?? 0, nowMs + effect.durationMs * (state.effectScale ?? 1));
      effects[key] = activeEffect(rule.ruleId, provider, 'reply', effect, existing, {
        untilMs,
        matches: (existing?.matches ?? 0) + 1,
        lastReply: describeReply(reply),
        nowMs,
      });
      fired.push({ ruleId: rule.ruleId, provider, effect, untilMs });
    }
  }

  applyRateRules(effects, windows, nowMs, state.effectScale ?? 1, fired);
  dropExpired(effects, nowMs);
  const warmup = state.warmup
    ? { ...state.warmup, attemptsThisDay: state.warmup.attemptsThisDay + attempts }
    : null;
  return { state: { ...state, windows, effects, warmup, updatedMs: nowMs }, fired };
}

/**
 * An operator's pause or resume, for the whole IP (provider null) or one provider. Resuming a
 * provider also lifts the reply rules' effects for it (the operator says it is handled, e.g.
 * delisted); a new matching reply puts them back. Rate effects stay: they follow the data.
 */
export function applyControl(state: IpState, control: IpControl, nowMs: number): IpState {
  const next = { ...state, updatedMs: nowMs };
  switch (control.kind) {
    case 'pause': {
      if (!isActive(control.untilMs, nowMs)) return next;
      const pause: OperatorPause = {
        untilMs: control.untilMs,
        reason: control.reason,
        actor: control.actor,
        sinceMs: nowMs,
      };
      if (control.provider === null) return { ...next, pause };
      return { ...next, providerPauses: { ...state.providerPauses, [control.provider]: pause } };
    }
    case 'resume': {
      if (control.provider === null) return { ...next, pause: null };
      const provider = control.provider;
      const providerPauses = { ...state.providerPauses };
      delete providerPauses[provider];
      const effects = Object.fromEntries(
        Object.entries(state.effects).filter(([, e]) => !(e.provider === provider && e.source === 'reply')),
      );
      return { ...next, providerPauses, effects };
    }
  }
}

/**
 * The clock: rolls the windows (rate effects recover), expires effects and pauses, and moves
 * the warmup day on when it is due and the IP is healthy. Call it whenever the workflow wakes
 * (at nextWakeMs) and before publishing.
 */
export function tick(state: IpState, nowMs: number): IpState {
  const windows = rolledWindows(state.windows, nowMs);
  const effects: Record<string, ActiveEffect> = { ...state.effects };
  applyRateRules(effects, windows, nowMs, state.effectScale ?? 1, []);
  dropExpired(effects, nowMs);
  const pause = state.pause && isActive(state.pause.untilMs, nowMs) ? state.pause : null;
  const providerPauses = activePauses(state.providerPauses, nowMs);

  let warmup = state.warmup;
  if (warmup) {
    let all: OutcomeCounts = ZERO_COUNTS;
    for (const buckets of Object.values(windows)) all = addCounts(all, windowTotals(buckets, nowMs));
    warmup = nextWarmupDay(warmup, all, nowMs).state;
  }
  return { ...state, windows, effects, pause, providerPauses, warmup, updatedMs: nowMs };
}

/**
 * When the route state or the warmup day next changes by the clock alone: the soonest expiry,
 * the warmup day boundary (or a re-check while the day is held), and, while a rate effect is
 * on, the moment the oldest bucket leaves the window. Null: nothing until the next signal.
 * A time at or before `nowMs` means "tick now".
 */
export function nextWakeMs(state: IpState, nowMs: number): number | null {
  const times: number[] = [];
  for (const e of Object.values(state.effects)) {
    times.push(e.untilMs);
    if (e.source === 'rate') {
      const change = windowChangeMs(state.windows[e.provider] ?? []);
      if (change !== null) times.push(change);
    }
  }
  if (state.pause?.untilMs != null) times.push(state.pause.untilMs);
  for (const p of Object.values(state.providerPauses)) if (p.untilMs !== null) times.push(p.untilMs);
  if (state.warmup) {
    const due = state.warmup.dayStartedMs + state.warmup.dayMs;
    // A held day is re-checked as the window moves (every bucket), or sooner on short test days.
    times.push(due > nowMs ? due : nowMs + Math.min(WINDOW_BUCKET_MS, state.warmup.dayMs));
  }
  return times.length === 0 ? null : Math.min(...times);
}

/** What routing needs, as of `nowMs`; effects and pauses that expired are left out. */
export function routeStateOf(state: IpState, nowMs: number): IpRouteState {
  const suspended: Record<ProviderId, { untilMs: number | null; reason: string }> = {};
  const longer = (provider: ProviderId, untilMs: number | null, reason: string): void => {
    const cur = suspended[provider];
    if (cur === undefined || (cur.untilMs !== null && (untilMs === null || untilMs > cur.untilMs))) {
      suspended[provider] = { untilMs, reason };
    }
  };
  for (const [provider, p] of Object.entries(activePauses(state.providerPauses, nowMs))) {
    longer(provider, p.untilMs, `paused by ${p.actor}: ${p.reason}`);
  }
  const throttled: Record<ProviderId, { untilMs: number; reason: string }> = {};
  const weightFactors: Record<ProviderId, number> = {};
  for (const e of Object.values(state.effects)) {
    if (e.untilMs <= nowMs) continue;
    switch (e.kind) {
      case 'suspend':
        longer(e.provider, e.untilMs, e.ruleId);
        break;
      case 'throttle': {
        const cur = throttled[e.provider];
        if (cur === undefined || e.untilMs > cur.untilMs)
          throttled[e.provider] = { untilMs: e.untilMs, reason: e.ruleId };
        break;
      }
      case 'lower_weight':
        weightFactors[e.provider] = (weightFactors[e.provider] ?? 1) * (e.weightFactor ?? 1);
        break;
    }
  }
  const pause = state.pause && isActive(state.pause.untilMs, nowMs) ? state.pause : null;
  return {
    version: 1,
    ip: state.ip,
    weight: pause ? 0 : state.baseWeight,
    paused: pause ? { untilMs: pause.untilMs, reason: `paused by ${pause.actor}: ${pause.reason}` } : null,
    suspended,
    caps: state.warmup ? capsForDay(state.warmup.plan, state.warmup.day) : null,
    warmupDay: state.warmup ? state.warmup.day : null,
    asOfMs: nowMs,
    weightFactors,
    throttled,
  };
}

/** Serialised size (UTF-16 code units ≈ bytes for this ASCII JSON), for tests and logs. */
export function stateSize(state: IpState): number {
  return JSON.stringify(state).length;
}
