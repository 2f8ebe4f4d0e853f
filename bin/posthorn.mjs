#!/usr/bin/env node
// The `posthorn` command. Runs the TypeScript sources through tsx's loader, so the CLI is
// always the code in this checkout (no separate build step to forget).
import { register } from 'tsx/esm/api';

register();
const { main } = await import('./cli.ts');
// Exit explicitly: a command is done when main returns, whatever handles a library left open.
process.exit(await main(process.argv.slice(2)));
