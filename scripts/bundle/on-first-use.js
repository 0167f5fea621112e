// Stand-ins for packages that the bundled conf imports but uses only for options p2prc never passes
// (scripts/bundle.js resolves them here): ajv and ajv-formats compile a `schema`, semver orders
// `migrations`. conf imports all three as it loads, which cost a client about 1 MB of heap for code it
// never runs (src/store/config-schema.ts checks config.json instead). Each stand-in loads the real package
// the first time conf reaches into it, so conf given a schema or migrations still works.
import { createRequire } from 'node:module';

let fromConf;
/** A `require` that resolves as conf's own would: npm may have nested conf's ajv under conf when the application holds another ajv. */
function requireFromConf(name) {
  fromConf ??= createRequire(createRequire(import.meta.url).resolve('conf'));
  return fromConf(name);
}

/** A CommonJS package's exports, required from where conf would find it, on the first property read. */
export function lazyModule(name) {
  let loaded;
  const real = () => (loaded ??= requireFromConf(name));
  return new Proxy({}, { get: (_, key) => real()[key], has: (_, key) => key in real() });
}
