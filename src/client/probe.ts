import { randomBytes } from 'node:crypto';
import { toP2prcError } from '../errors.js';
import { FrameChannel } from '../transport/channel.js';
import { dial } from '../transport/net.js';

export type ProbeState = 'alive' | 'down' | 'cert-mismatch' | 'not-p2prc';

export interface ProbeResult {
  state: ProbeState;
  latencyMs: number | undefined;
  fingerprint: string | undefined;
  /** The host's package version, from its Challenge (hosts before 0.1 do not send it). */
  version?: string | undefined;
  error: string | undefined;
}

/**
 * Checks that a p2prc host answers: connects (TLS with the pinned fingerprint when given), says
 * Hello and waits for the Challenge, without authenticating. Never throws.
 */
export async function probeHost(
  host: string,
  port: number,
  opts: { tls: boolean; fingerprint?: string | undefined; timeoutMs: number },
): Promise<ProbeResult> {
  const started = performance.now();
  let channel: FrameChannel | undefined;
  try {
    const dialed = await dial({ host, port, tls: opts.tls, fingerprint: opts.fingerprint, timeoutMs: opts.timeoutMs });
    channel = new FrameChannel(dialed.socket);
    channel.sendPreamble();
    channel.send('Hello', {
      role: 'control',
      clientId: `probe-${randomBytes(4).toString('hex')}`,
      name: 'probe',
      agent: 'p2prc-probe',
    });
    const reply = await channel.next(opts.timeoutMs);
    const latencyMs = Math.round(performance.now() - started);
    if (reply.type !== 'Challenge')
      return { state: 'not-p2prc', latencyMs, fingerprint: dialed.fingerprint, error: `answered ${reply.type}` };
    return {
      state: 'alive',
      latencyMs,
      fingerprint: dialed.fingerprint,
      version: reply.body.version,
      error: undefined,
    };
  } catch (err) {
    const e = toP2prcError(err, 'E_UNREACHABLE');
    const state: ProbeState = e.code === 'E_TLS' ? 'cert-mismatch' : e.code === 'E_PROTOCOL' ? 'not-p2prc' : 'down';
    return { state, latencyMs: undefined, fingerprint: undefined, error: `${e.code}: ${e.message}` };
  } finally {
    channel?.close();
  }
}
