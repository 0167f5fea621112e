import { frpDir, startFrp, stop, worker } from './proc.js';

/**
 * The ways a visitor can reach a target: direct, a two-hop plain Node relay, p2prc (plaintext / TLS),
 * frp (plaintext / tls_enable). Each `open` returns { port, pids, close }.
 */
export function paths({ withFrp = true } = {}) {
  const frp = withFrp ? frpDir() : undefined;
  const list = [
    { name: 'direct', open: async (target) => ({ port: target, pids: {}, close: async () => undefined }) },
    {
      name: 'node relay (2 hops)',
      open: async (target) => {
        const b = await worker('relay', [target]);
        const a = await worker('relay', [b.port]);
        return {
          port: a.port,
          pids: { host: a.pid, client: b.pid },
          close: async () => (await stop(a.child), await stop(b.child)),
        };
      },
    },
    {
      name: 'node relay (2 hops, TLS between)',
      tlsCeiling: true, // measured by the native load generators only (bench/lib/scenarios.js)
      open: async (target) => {
        const b = await worker('relay', [target, 'tls-in']);
        const a = await worker('relay', [b.port, 'tls-out']);
        return {
          port: a.port,
          pids: { host: a.pid, client: b.pid },
          close: async () => (await stop(a.child), await stop(b.child)),
        };
      },
    },
    ...['plain', 'tls'].map((mode) => ({
      name: `p2prc ${mode}`,
      p2prc: true,
      open: async (target, extra = {}) => {
        const h = await worker('host', [mode]);
        const c = await worker('client', [h.port, h.token, h.fingerprint ?? '-', mode, target, extra.count ?? 1]);
        return {
          port: c.publicPort,
          pids: { host: h.pid, client: c.pid },
          procs: { host: h.child, client: c.child },
          close: async () => (await stop(c.child), await stop(h.child)),
        };
      },
    })),
    {
      name: 'p2prc service (e2e AES-GCM)',
      p2prc: true,
      footprint: false, // measured on the public-tunnel paths; a visitor opens each connection on demand
      open: async (target) => {
        const h = await worker('host', ['tls']);
        const owner = await worker('service', ['owner', h.port, h.token, h.fingerprint, target]);
        const visitor = await worker('service', ['visitor', h.port, h.token, h.fingerprint, target]);
        return {
          port: visitor.port,
          pids: { host: h.pid, client: owner.pid },
          procs: { host: h.child, client: owner.child },
          close: async () => (await stop(visitor.child), await stop(owner.child), await stop(h.child)),
        };
      },
    },
  ];
  if (frp) {
    for (const tls of [false, true]) {
      list.push({
        name: `frp 0.31.2 ${tls ? 'tls' : 'plain'}`,
        frp: true,
        open: async (target) => {
          const f = await startFrp(frp, target, { tls });
          return { port: f.publicPort, pids: { host: f.server.pid, client: f.client.pid }, close: f.cleanup };
        },
      });
    }
  }
  return { list, frpSkip: frp ? undefined : 'no frp binary found (set P2PRC_FRP_BIN_DIR)' };
}
