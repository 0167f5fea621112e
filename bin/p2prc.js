#!/usr/bin/env node
import { earlyControlTarget } from '../dist/early.js';

// A reader that stopped early (`p2prc --help | head`) is not a failure of ours: end quietly, as cat does.
for (const stream of [process.stdout, process.stderr])
  stream.on('error', (err) => {
    if (err.code === 'EPIPE') process.exit(0);
    throw err;
  });

// A host's control port is bound before the rest of the program loads, so clients that dial during
// startup wait in the backlog instead of being refused (frpc gives up after one failed login); the host
// adopts the listener (src/transport/held-listener.ts). Other commands load nothing more here.
const early = earlyControlTarget(process.argv.slice(2));
if (early) (await import('../dist/held-listener.js')).holdListener(early.port, early.host);
const { main } = await import('../dist/main.js');

// Exit explicitly: a failed command must not linger on a half-open socket or timer. But first let
// stdout and stderr drain: a pipe whose reader is slower than us takes 64 KB synchronously and queues
// the rest, which process.exit would drop (a long --list-services --json was cut off mid-object).
const code = await main(process.argv.slice(2));
await Promise.all([process.stdout, process.stderr].map((s) => new Promise((resolve) => s.write('', resolve))));
process.exit(code);
