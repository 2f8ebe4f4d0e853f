#!/usr/bin/env -S node --max-semi-space-size=32
// The `posthorn` command. The V8 flag on the line above gives the young generation 32 MB
// semi-spaces (16 MB by default): a node's garbage is mostly per-request and per-message
// buffers that die young, and a larger nursery lets more of them die before a scavenge
// copies them. In a profiled peer bench (10,000 messages) the collector's time on the main
// thread fell from 2.6 s to 1.8 s. `npm start` runs this file, so it gets the flag too.
// Runs the TypeScript sources through tsx's loader, so the CLI is
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
