#!/usr/bin/env -S node --max-semi-space-size=8 --heap-growing-percent=100 --v8-pool-size=1
// V8's young generation at 8 MB semi-spaces instead of Node's 16 (25–35 MB less peak RSS for
// the node under a 20,000-message burst, at no measurable throughput cost), and each heap
// grown to at most twice its live size between major collections instead of up to four
// times (about 140 MB less, for about 2.5 % more of the node's CPU in V8's helper threads;
// docs/operations.md, "Sizing"). One V8 helper thread instead of Node's four: each major
// collection marks the main heap's ~90 MB live set concurrently, about 250 ms of CPU, and four
// helpers spent it within ~100 ms, taking both cores of a 2-core host from the API, the
// SMTP sessions and PostgreSQL every few seconds (the API's p99 at 500 requests/s followed
// those bursts; docs/architecture.md, "Cost per message"). Run it as `posthorn` or
// `./bin/posthorn.mjs` so the flags apply; with `node bin/posthorn.mjs`, pass them yourself.
// The `posthorn` command. Runs the TypeScript sources through tsx's loader, so the CLI is
// always the code in this checkout (no separate build step to forget).
import { register } from 'tsx/esm/api';

// Datadog APM, when asked for (DD_TRACE_ENABLED=true): dd-trace must load before the
// modules it instruments (pg, http, undici, grpc), so it starts here, first.
if (process.env.DD_TRACE_ENABLED === 'true') {
  const { default: tracer } = await import('dd-trace');
  tracer.init({ service: process.env.DD_SERVICE ?? 'posthorn', logInjection: true });
}

register();
const { main } = await import('./cli.ts');
// Exit explicitly: a command is done when main returns, whatever handles a library left open.
process.exit(await main(process.argv.slice(2)));
