/**
 * What src/modes/on-demand.ts loads on first use: the host, the node and service commands and the frp
 * installer, as one module. One split point in the bundle, not one a mode: with the host's two in a
 * group of their own, esbuild cut the library's static part into 17 files instead of 15, and the extra
 * module-loader work woke V8's optimizing compiler while a client started (2.7 MB more RSS at its
 * start; docs/benchmarks.md, session 9).
 */
export { startHost } from '../host/start.js';
export { runHostService } from '../service/host-service.js';
export { runNodeService } from '../service/node-service.js';
export { runPlainNode } from '../service/plain-node.js';
export { runServiceOwner, runVisit, runListServices } from '../service/services.js';
export { installFrp } from '../frp/install.js';
