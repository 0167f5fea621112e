import { createDualNatBed as create } from '../../../bench/lib/dual-nat.js';

/**
 * Two private networks behind two NAT routers (cone, or one symmetric) and a public host between
 * them. The bed itself is plain JavaScript in bench/lib/dual-nat.js, so `npm run bench:direct`
 * measures on the very same topology the tests check; this file gives it its types.
 */
export interface DualNatBed {
  ns: { public: string; routerA: string; owner: string; routerB: string; visitor: string };
  hostIp: string;
  /** The routers' outside addresses: what each side's packets appear to come from. */
  natA: string;
  natB: string;
  exec(ns: string, cmd: string, ...args: string[]): Promise<string>;
  destroy(): Promise<void>;
}

export const createDualNatBed: (options?: { symmetric?: 'owner' | 'visitor' }) => Promise<DualNatBed> = create;
