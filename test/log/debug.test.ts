import { describe, expect, it } from 'vitest';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { sourceModuleUrl } from '../../scripts/source-module.js';

const run = promisify(execFile);

/** Runs a snippet against the built modules in a fresh process, so the env switch is read as a user sets it. */
async function logs(env: Record<string, string | undefined>): Promise<{ stdout: string; stderr: string; pid: string }> {
  const script = `
    const { debug, debugFailure, P2prcError } = await import(${JSON.stringify(sourceModuleUrl('log/debug.ts', 'errors.ts'))});
    debug('E_CLOSED', 'parked connection closed', { sessionId: 's1' });
    debugFailure('handshake failed', new P2prcError('E_AUTH', 'wrong secret'), 'E_PROTOCOL');
    debugFailure('local connect', new Error('ECONNREFUSED'), 'E_UNREACHABLE');
    debug('E_INTERNAL', 'cyclic fields', (() => { const o = {}; o.self = o; return { o }; })());
    console.log(process.pid);`;
  const { NODE_DEBUG: _, ...base } = process.env;
  const r = await run(process.execPath, ['--input-type=module', '-e', script], { env: { ...base, ...env } });
  return { stdout: r.stdout, stderr: r.stderr, pid: r.stdout.trim() };
}

describe('debug log', () => {
  it('with NODE_DEBUG=p2prc writes one coded line per failure to stderr, never to stdout', async () => {
    const r = await logs({ NODE_DEBUG: 'p2prc' });
    expect(r.stderr.trim().split('\n')).toEqual([
      `P2PRC ${r.pid}: E_CLOSED parked connection closed {"sessionId":"s1"}`,
      `P2PRC ${r.pid}: E_AUTH handshake failed: wrong secret`,
      `P2PRC ${r.pid}: E_UNREACHABLE local connect: ECONNREFUSED`,
      `P2PRC ${r.pid}: E_INTERNAL cyclic fields {"fields":"not serializable"}`,
    ]);
    expect(r.stdout).toBe(`${r.pid}\n`);
  });

  it('is silent without the switch, or with another section named', async () => {
    expect((await logs({})).stderr).toBe('');
    expect((await logs({ NODE_DEBUG: 'net' })).stderr).not.toContain('P2PRC');
  });
});
