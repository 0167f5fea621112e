import { P2prcError } from '../errors.js';

/** What one frp log line means to p2prc (pure; matched against frp 0.31.2 and current wording). */
export type FrpEvent =
  | { kind: 'server-ready' }
  | { kind: 'login' }
  | { kind: 'proxy-ready'; proxy: string }
  | { kind: 'error'; error: P2prcError; proxy?: string; fatal: boolean };

// eslint-disable-next-line no-control-regex -- frp colours its log lines with ANSI escapes
const ANSI = /\x1b\[[0-9;]*m/g;

export function stripAnsi(line: string): string {
  return line.replace(ANSI, '');
}

/** frps's refusal of one proxy (a "start error" line, or an `err` in frpc's /api/status), with the proxy named in details. */
export function frpProxyRefusal(proxy: string, text: string): P2prcError {
  const reason = text.trim();
  const code = /port not allowed/.test(reason)
    ? 'E_PORT_DENIED'
    : /port unavailable|port already used|address already in use|no available port/.test(reason)
      ? 'E_PORT_TAKEN'
      : /exceed|quota|max/.test(reason)
        ? 'E_QUOTA'
        : 'E_PROTOCOL';
  return new P2prcError(code, `frp refused proxy ${proxy}: ${reason}`, { details: { side: 'host', proxy } });
}

export function classifyFrpLine(raw: string): FrpEvent | undefined {
  const line = stripAnsi(raw);
  if (/start frps success|frps started successfully/.test(line)) return { kind: 'server-ready' };
  if (/login to (the )?server success/.test(line)) return { kind: 'login' };
  const proxyOk = /\[([^\]]+)\] start proxy success/.exec(line);
  if (proxyOk) return { kind: 'proxy-ready', proxy: proxyOk[1]! };
  const proxyErr = /\[([^\]]+)\] start error: (.*)$/.exec(line);
  if (proxyErr)
    return { kind: 'error', proxy: proxyErr[1]!, fatal: false, error: frpProxyRefusal(proxyErr[1]!, proxyErr[2]!) };
  if (/login to (the )?server failed/.test(line) || /\[E\].*authorization failed/.test(line)) {
    const reason = (/login to (the )?server failed:\s*(.*)$/.exec(line)?.[2] ?? line.replace(/^.*\] /, '')).trim();
    const code = /authorization failed|token/.test(reason) ? 'E_AUTH' : 'E_UNREACHABLE';
    return { kind: 'error', fatal: false, error: new P2prcError(code, `frp login failed: ${reason}`) };
  }
  if (/bind: address already in use/.test(line))
    return {
      kind: 'error',
      fatal: true,
      error: new P2prcError('E_PORT_TAKEN', `frps cannot listen: ${line.replace(/^.*\] /, '')}`),
    };
  return undefined;
}
