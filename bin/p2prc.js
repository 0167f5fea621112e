#!/usr/bin/env node
import { main } from '../dist/cli/main.js';

// Exit explicitly: a failed command must not linger on a half-open socket or timer. stdout and stderr
// are synchronous for files and pipes on POSIX, so nothing printed is lost.
process.exit(await main(process.argv.slice(2)));
