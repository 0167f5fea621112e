// tsc compiles only TypeScript: the admin server's static pages are copied next to its compiled code.
import { cpSync, readdirSync } from 'node:fs';

for (const name of readdirSync('src/admin').filter((n) => n.endsWith('.html'))) {
  cpSync(`src/admin/${name}`, `dist/admin/${name}`);
}
