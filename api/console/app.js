// The delivery console's script: hash routes (#/search, #/message/ID, #/health, #/pauses,
// #/egress) over the operator routes. Every value shown comes from outside (reply texts
// are written by remote mail servers), so the DOM is built with textContent only, never
// from HTML strings.

const view = document.getElementById('view');
const SVG = 'http://www.w3.org/2000/svg';

function h(tag, attrs, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs ?? {})) {
    if (v === undefined || v === null || v === false) continue;
    if (k.startsWith('on')) el.addEventListener(k.slice(2), v);
    else el.setAttribute(k, v === true ? '' : String(v));
  }
  for (const c of children.flat()) {
    if (c === undefined || c === null || c === false) continue;
    el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return el;
}

async function api(path, options = {}) {
  const res = await fetch(path, {
    ...options,
    credentials: 'same-origin',
    headers: { 'x-posthorn-console': '1', ...(options.body ? { 'content-type': 'application/json' } : {}) },
  });
  if (res.status === 401) {
    location.href = '/console';
    throw new Error('signed out');
  }
  const body = await res.json().catch(() => ({}));
  if (!res.ok) throw new Error(body.message ?? `HTTP ${res.status}`);
  return body;
}

const fmtTime = (v) =>
  v
    ? new Date(v)
        .toISOString()
        .replace('T', ' ')
        .replace(/\.\d+Z$/, 'Z')
    : '';
const pct = (n, d) => (d > 0 ? `${((100 * n) / d).toFixed(1)}%` : '–');
const reply = (e) =>
  e.reply_code
    ? `${e.reply_code}${e.enhanced_status ? ` ${e.enhanced_status}` : ''} ${e.reply_text ?? ''}`
    : (e.detail ?? '');

function table(columns, rows, empty = 'Nothing here.') {
  if (rows.length === 0) return h('p', { class: 'empty' }, empty);
  return h(
    'table',
    {},
    h(
      'thead',
      {},
      h(
        'tr',
        {},
        columns.map(([title]) => h('th', {}, title)),
      ),
    ),
    h(
      'tbody',
      {},
      rows.map((r) =>
        h(
          'tr',
          {},
          columns.map(([, cell]) => h('td', {}, cell(r) ?? '')),
        ),
      ),
    ),
  );
}

function failure(err) {
  return h('p', { class: 'error', role: 'alert' }, String(err.message ?? err));
}

// ---- Search -------------------------------------------------------------------------

const FILTERS = [
  ['message', 'Message id'],
  ['recipient', 'Recipient'],
  ['tenant', 'Tenant'],
  ['sending-domain', 'Sending domain'],
  ['domain', 'Recipient domain'],
  ['provider', 'Provider'],
  ['ip', 'IP'],
  ['pool', 'Pool'],
  ['type', 'Message type'],
  ['event', 'Event'],
  ['category', 'Category'],
  ['since', 'Since (2h or ISO time)'],
  ['until', 'Until (ISO time)'],
];

function eventRows(events, withMessage) {
  return table(
    [
      ['Time', (e) => fmtTime(e.at)],
      ...(withMessage
        ? [['Message', (e) => h('a', { href: `#/message/${e.message_id}` }, e.message_id.slice(0, 8))]]
        : []),
      ['Event', (e) => h('span', { class: `event ${e.event}` }, e.event)],
      ['Tenant', (e) => e.tenant],
      ['Recipient', (e) => e.recipient],
      ['Provider', (e) => e.provider],
      ['IP', (e) => e.ip],
      ['MX', (e) => e.mx_host],
      ['TLS', (e) => e.tls],
      ['Attempt', (e) => e.attempt],
      ['Reply', (e) => reply(e)],
      ['Category', (e) => e.category],
      ['ms', (e) => e.duration_ms],
    ],
    events,
    'No events match.',
  );
}

function search(params) {
  const results = h('div', { id: 'results' });
  const form = h(
    'form',
    { class: 'filters', id: 'search-form' },
    FILTERS.map(([name, label]) =>
      h('label', {}, label, h('input', { name, value: params.get(name) ?? '', autocomplete: 'off' })),
    ),
    h('button', { type: 'submit' }, 'Search'),
  );
  form.addEventListener('submit', (ev) => {
    ev.preventDefault();
    const q = new URLSearchParams();
    for (const [k, v] of new FormData(form)) if (String(v).trim()) q.set(k, String(v).trim());
    location.hash = `#/search?${q}`;
  });
  view.replaceChildren(h('h1', {}, 'Delivery log'), form, results);
  const q = new URLSearchParams();
  for (const [name] of FILTERS) if (params.get(name)) q.set(name, params.get(name));
  if (!q.has('since') && !q.has('message')) q.set('since', '24h');
  q.set('limit', '500');
  api(`/admin/events?${q}`).then(
    (r) =>
      results.replaceChildren(h('p', { class: 'count' }, `${r.data.length} events`), eventRows(r.data, true)),
    (err) => results.replaceChildren(failure(err)),
  );
}

// ---- One message --------------------------------------------------------------------

async function message(id) {
  view.replaceChildren(h('p', {}, 'Loading…'));
  try {
    const t = await api(`/admin/messages/${encodeURIComponent(id)}`);
    const m = t.message;
    view.replaceChildren(
      h('h1', {}, 'Message ', h('code', {}, m.id)),
      h(
        'dl',
        { class: 'facts' },
        [
          ['Tenant', m.tenant],
          ['From', m.from],
          ['Subject', m.subject],
          ['To', (m.to ?? []).join(', ')],
          ['Type', m.message_type],
          ['Sending domain', m.sending_domain],
          ['Accepted', fmtTime(m.created_at)],
          ['Scheduled', fmtTime(m.scheduled_at)],
        ].flatMap(([k, v]) => [h('dt', {}, k), h('dd', {}, v ?? '')]),
      ),
      t.temporal_ui
        ? h(
            'p',
            {},
            h(
              'a',
              { href: t.temporal_ui, target: '_blank', rel: 'noopener', id: 'temporal-link' },
              'Workflows in the Temporal Web UI',
            ),
          )
        : null,
      h('h2', {}, 'Recipients'),
      table(
        [
          ['Address', (r) => r.address],
          ['State', (r) => h('span', { class: `event ${r.state}` }, r.state)],
          ['Attempts', (r) => r.attempts],
          ['Last reply', (r) => r.last_reply],
        ],
        t.recipients,
      ),
      h('h2', {}, 'Timeline'),
      eventRows(t.events, false),
    );
  } catch (err) {
    view.replaceChildren(h('h1', {}, 'Message'), failure(err));
  }
}

// ---- Health -------------------------------------------------------------------------

const SERIES = [
  ['delivered', '#2f855a'],
  ['deferred', '#d69e2e'],
  ['bounced', '#c53030'],
  ['failed', '#6b46c1'],
  ['complained', '#dd6b20'],
];

/** Stacked bars, one per time bucket. */
function chart(series) {
  const width = 720;
  const height = 160;
  const max = Math.max(1, ...series.map((b) => SERIES.reduce((n, [k]) => n + b.counts[k], 0)));
  const barW = width / Math.max(1, series.length);
  const svg = document.createElementNS(SVG, 'svg');
  svg.setAttribute('viewBox', `0 0 ${width} ${height + 20}`);
  svg.setAttribute('class', 'chart');
  svg.setAttribute('role', 'img');
  svg.setAttribute('aria-label', 'Outcomes over time');
  series.forEach((b, i) => {
    let y = height;
    for (const [k, color] of SERIES) {
      const hgt = (b.counts[k] / max) * height;
      if (hgt <= 0) continue;
      y -= hgt;
      const rect = document.createElementNS(SVG, 'rect');
      rect.setAttribute('x', String(i * barW + 1));
      rect.setAttribute('y', String(y));
      rect.setAttribute('width', String(Math.max(1, barW - 2)));
      rect.setAttribute('height', String(hgt));
      rect.setAttribute('fill', color);
      const title = document.createElementNS(SVG, 'title');
      title.textContent = `${fmtTime(b.startMs)} ${k}: ${b.counts[k]}`;
      rect.append(title);
      svg.append(rect);
    }
  });
  const axis = document.createElementNS(SVG, 'text');
  axis.setAttribute('x', '0');
  axis.setAttribute('y', String(height + 15));
  axis.textContent = `${fmtTime(series[0]?.startMs)} … now (max ${max} per bucket)`;
  svg.append(axis);
  return h(
    'figure',
    {},
    svg,
    h(
      'figcaption',
      {},
      SERIES.map(([k, color]) => {
        // Set through the CSSOM: the page's CSP refuses style attributes.
        const swatch = h('i', {});
        swatch.style.background = color;
        return h('span', { class: 'key' }, swatch, k);
      }),
    ),
  );
}

function rates(c) {
  const attempts = c.delivered + c.deferred + c.bounced + c.failed;
  const final = c.delivered + c.bounced + c.failed;
  return {
    delivery: pct(c.delivered, final),
    deferral: pct(c.deferred, attempts),
    bounce: pct(c.bounced, final),
    complaint: pct(c.complained, c.delivered),
  };
}

async function health(params) {
  const by = params.get('by') === 'ip' ? 'ip' : 'provider';
  const hours = params.get('hours') ?? '24';
  view.replaceChildren(h('p', {}, 'Loading…'));
  try {
    const [r, ips] = await Promise.all([
      api(`/admin/health?by=${by}&hours=${encodeURIComponent(hours)}`),
      api('/admin/ips'),
    ]);
    const picker = h(
      'p',
      { class: 'tabs' },
      h(
        'a',
        { href: `#/health?by=provider&hours=${hours}`, class: by === 'provider' ? 'on' : '' },
        'By provider',
      ),
      h('a', { href: `#/health?by=ip&hours=${hours}`, class: by === 'ip' ? 'on' : '' }, 'By IP'),
      ...['1', '24', '168'].map((hh) =>
        h('a', { href: `#/health?by=${by}&hours=${hh}`, class: hh === hours ? 'on' : '' }, `${hh} h`),
      ),
    );
    const sentByIp = new Map(
      by === 'ip' ? r.rows.map((row) => [row.key, row.counts.delivered + row.counts.bounced]) : [],
    );
    view.replaceChildren(
      h('h1', {}, `Delivery health, last ${hours} h`),
      picker,
      chart(r.series),
      table(
        [
          [by === 'ip' ? 'IP' : 'Provider', (row) => row.key ?? '(none)'],
          ['Delivered', (row) => row.counts.delivered],
          ['Deferred', (row) => row.counts.deferred],
          ['Bounced', (row) => row.counts.bounced],
          ['Failed', (row) => row.counts.failed],
          ['Complaints', (row) => row.counts.complained],
          ['Delivery rate', (row) => rates(row.counts).delivery],
          ['Deferral rate', (row) => rates(row.counts).deferral],
          ['Bounce rate', (row) => rates(row.counts).bounce],
          ['Complaint rate', (row) => rates(row.counts).complaint],
        ],
        r.rows,
        'No deliveries in this range.',
      ),
      h('h2', {}, 'IPs: suspensions and warmup'),
      table(
        [
          ['IP', (ip) => ip.address],
          ['Pool', (ip) => ip.pool],
          ['Weight', (ip) => ip.route?.weight ?? ip.weight],
          [
            'Paused',
            (ip) =>
              ip.route?.paused
                ? `${ip.route.paused.reason} (until ${fmtTime(ip.route.paused.untilMs) || 'resumed'})`
                : '',
          ],
          [
            'Suspended for',
            (ip) =>
              Object.entries(ip.route?.suspended ?? {})
                .map(([p, s]) => `${p}: ${s.reason} (until ${fmtTime(s.untilMs) || 'resumed'})`)
                .join('; '),
          ],
          ['Warmup day', (ip) => ip.route?.warmupDay ?? (ip.warm ? 'warm' : '')],
          [
            'Daily cap',
            (ip) => {
              const cap = ip.route?.caps?.['*']?.daily;
              if (cap === undefined) return '';
              const sent = sentByIp.get(ip.address);
              return sent === undefined ? String(cap) : `${sent} / ${cap} (${pct(sent, cap)})`;
            },
          ],
        ],
        ips.data,
        'No IPs configured: the node sends from its default address.',
      ),
    );
  } catch (err) {
    view.replaceChildren(h('h1', {}, 'Delivery health'), failure(err));
  }
}

// ---- Pauses -------------------------------------------------------------------------

function targetOf(p) {
  return p.scope === 'ip' ? { kind: 'ip', ip: p.value } : { kind: p.scope, value: p.value };
}

async function pauses() {
  view.replaceChildren(h('p', {}, 'Loading…'));
  const status = h('p', { id: 'pause-status', role: 'status' });
  const act = async (path, body) => {
    try {
      await api(path, { method: 'POST', body: JSON.stringify(body) });
      await pauses();
    } catch (err) {
      status.replaceChildren(failure(err));
    }
  };
  try {
    const r = await api('/admin/pauses');
    const form = h(
      'form',
      { class: 'filters', id: 'pause-form' },
      h(
        'label',
        {},
        'Scope',
        h(
          'select',
          { name: 'kind' },
          ['sending_domain', 'tenant', 'domain', 'provider', 'ip'].map((k) => h('option', { value: k }, k)),
        ),
      ),
      h('label', {}, 'Value', h('input', { name: 'value', required: true })),
      h('label', {}, 'Reason', h('input', { name: 'reason', required: true })),
      h(
        'label',
        {},
        'For (seconds, empty: until resumed)',
        h('input', { name: 'for', type: 'number', min: '1' }),
      ),
      h('button', { type: 'submit' }, 'Pause'),
    );
    form.addEventListener('submit', (ev) => {
      ev.preventDefault();
      const f = new FormData(form);
      const kind = String(f.get('kind'));
      const value = String(f.get('value')).trim();
      const target = kind === 'ip' ? { kind, ip: value } : { kind, value };
      const seconds = Number(f.get('for'));
      act('/admin/pauses', {
        target,
        reason: String(f.get('reason')),
        ...(seconds > 0 ? { for_seconds: seconds } : {}),
      });
    });
    view.replaceChildren(
      h('h1', {}, 'Pauses'),
      table(
        [
          ['Scope', (p) => p.scope],
          ['Value', (p) => p.value],
          ['Reason', (p) => p.reason],
          ['By', (p) => p.actor],
          ['Until', (p) => fmtTime(p.untilMs) || 'resumed'],
          [
            '',
            (p) =>
              h(
                'button',
                {
                  type: 'button',
                  class: 'resume',
                  'data-value': p.value,
                  onclick: () =>
                    act('/admin/resumes', { target: targetOf(p), reason: 'resumed from the console' }),
                },
                'Resume',
              ),
          ],
        ],
        r.scopes,
        'Nothing is paused.',
      ),
      h('h2', {}, 'IPs paused or suspended (by operators or reputation rules)'),
      table(
        [
          ['IP', (s) => s.ip],
          ['Paused', (s) => (s.paused ? s.paused.reason : '')],
          [
            'Suspended for',
            (s) =>
              Object.entries(s.suspended)
                .map(([p, v]) => `${p}: ${v.reason}`)
                .join('; '),
          ],
        ],
        r.ips,
        'No IP is paused or suspended.',
      ),
      h('h2', {}, 'Pause'),
      form,
      status,
    );
  } catch (err) {
    view.replaceChildren(h('h1', {}, 'Pauses'), failure(err));
  }
}

// ---- Egress -------------------------------------------------------------------------

async function egress() {
  view.replaceChildren(h('p', {}, 'Loading…'));
  try {
    const r = await api('/admin/egress');
    view.replaceChildren(
      h('h1', {}, 'Egress queues on this node'),
      table(
        [
          ['IP', (q) => q.ip ?? 'default'],
          ['Site', (q) => q.site],
          ['Queued', (q) => q.queued],
          ['Active', (q) => q.active],
          ['Connections', (q) => `${q.connections} (${q.idleConnections} idle)`],
          ['Peak queued', (q) => q.peakQueued],
          ['Messages sent', (q) => q.messagesSent],
          ['Sessions', (q) => q.sessionsOpened],
          ['Throttled', (q) => q.throttled],
        ],
        r.data,
        'No queues yet: nothing has been delivered since the node started.',
      ),
    );
  } catch (err) {
    view.replaceChildren(h('h1', {}, 'Egress'), failure(err));
  }
}

// ---- Live SMTP trace ----------------------------------------------------------------

/** The stream being shown; a new page or a new trace stops it. */
let traceStream = null;
const TRACE_LINES = 2000;
const ARROW = { client: '>', server: '<', info: '*' };

function trace(params) {
  const lines = h('tbody', {});
  const state = h('p', { class: 'count', id: 'trace-state' });
  const form = h(
    'form',
    { class: 'filters', id: 'trace-form' },
    [
      ['domain', 'Recipient domain'],
      ['ip', 'IP'],
      ['tenant', 'Tenant'],
    ].map(([name, label]) =>
      h('label', {}, label, h('input', { name, value: params.get(name) ?? '', autocomplete: 'off' })),
    ),
    h('button', { type: 'submit' }, 'Trace'),
  );
  form.addEventListener('submit', (ev) => {
    ev.preventDefault();
    const q = new URLSearchParams();
    for (const [k, v] of new FormData(form)) if (String(v).trim()) q.set(k, String(v).trim());
    location.hash = `#/trace?${q}`;
  });
  view.replaceChildren(
    h('h1', {}, 'Live SMTP trace (this node)'),
    form,
    state,
    h(
      'table',
      { class: 'trace' },
      h(
        'thead',
        {},
        h(
          'tr',
          {},
          ['Time', 'Session', 'IP', 'MX', 'Message', '', 'Line'].map((t) => h('th', {}, t)),
        ),
      ),
      lines,
    ),
  );
  const q = new URLSearchParams();
  for (const k of ['domain', 'ip', 'tenant']) if (params.get(k)) q.set(k, params.get(k));
  const controller = new AbortController();
  traceStream = controller;
  state.textContent = 'Connecting…';
  (async () => {
    const res = await fetch(`/admin/trace?${q}`, {
      credentials: 'same-origin',
      headers: { 'x-posthorn-console': '1' },
      signal: controller.signal,
    });
    if (!res.ok) throw new Error((await res.json().catch(() => ({}))).message ?? `HTTP ${res.status}`);
    const reader = res.body.getReader();
    const decoder = new TextDecoder();
    let pending = '';
    for (;;) {
      const { value, done } = await reader.read();
      if (done) break;
      pending += decoder.decode(value, { stream: true });
      for (let nl = pending.indexOf('\n'); nl >= 0; nl = pending.indexOf('\n')) {
        const text = pending.slice(0, nl).trim();
        pending = pending.slice(nl + 1);
        if (!text) continue;
        const l = JSON.parse(text);
        if ('node' in l) {
          state.textContent = `Tracing on node ${l.node}; lines appear as deliveries happen.`;
          continue;
        }
        lines.append(
          h(
            'tr',
            { class: l.direction },
            h('td', {}, new Date(l.atMs).toISOString().slice(11, 23)),
            h('td', {}, `#${l.session}`),
            h('td', {}, l.ip ?? 'default'),
            h('td', {}, `${l.mxHost} [${l.mxAddress}]`),
            h(
              'td',
              {},
              l.tag ? h('a', { href: `#/message/${l.tag.messageId}` }, l.tag.messageId.slice(0, 8)) : '',
            ),
            h('td', {}, ARROW[l.direction] ?? ''),
            h('td', { class: 'line' }, l.text),
          ),
        );
        while (lines.childElementCount > TRACE_LINES) lines.firstElementChild.remove();
      }
    }
    state.textContent = 'The node ended the trace.';
  })().catch((err) => {
    if (!controller.signal.aborted) state.replaceChildren(failure(err));
  });
}

// ---- Router -------------------------------------------------------------------------

function route() {
  const [path, query] = (location.hash.replace(/^#/, '') || '/search').split('?');
  const params = new URLSearchParams(query ?? '');
  const [, page, arg] = path.split('/');
  traceStream?.abort();
  traceStream = null;
  for (const a of document.querySelectorAll('[data-nav]'))
    a.classList.toggle('on', a.dataset.nav === page || (page === 'message' && a.dataset.nav === 'search'));
  if (page === 'message' && arg) return message(decodeURIComponent(arg));
  if (page === 'health') return health(params);
  if (page === 'pauses') return pauses();
  if (page === 'egress') return egress();
  if (page === 'trace') return trace(params);
  return search(params);
}

window.addEventListener('hashchange', route);
route();
