import { existsSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import path from 'node:path';

/** Where the real frp binaries are: only $P2PRC_FRP_BIN_DIR says (empty when unset, and the frp tests skip). */
export const FRP_DIR = process.env.P2PRC_FRP_BIN_DIR ?? '';
export const FRP_SKIP = !FRP_DIR
  ? 'P2PRC_FRP_BIN_DIR is not set (set it to a directory with frps and frpc)'
  : existsSync(path.join(FRP_DIR, 'frps')) && existsSync(path.join(FRP_DIR, 'frpc'))
    ? undefined
    : `no frp binaries in ${FRP_DIR} (set P2PRC_FRP_BIN_DIR to a directory with frps and frpc)`;
if (FRP_SKIP) console.warn(`frp tests skipped: ${FRP_SKIP}`);

/** frps/frpc processes started by p2prc (their config lives in a p2prc-frp-* temp directory), not their lifeline shells. */
export function frpProcesses(): number[] {
  try {
    const lines = execFileSync('pgrep', ['-a', '-f', 'p2prc-frp-'], { encoding: 'utf8' }).trim().split('\n');
    return lines
      .map((l) => l.split(' '))
      .filter((f) => /\/frp[sc]$/.test(f[1] ?? ''))
      .map((f) => Number(f[0]));
  } catch {
    return [];
  }
}
