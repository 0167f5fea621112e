import { debuglog } from 'node:util';
import { escapeControl, toP2prcError, type ErrorCode } from '../errors.js';

/**
 * Debug lines for failures that are handled on purpose (a fallback taken, one connection dropped)
 * and would otherwise leave no trace. Node's own switch turns them on: NODE_DEBUG=p2prc, lines on
 * stderr as "P2PRC <pid>: <CODE> <message> <fields as JSON>", so the code is always greppable.
 * Not a P2PRC_* variable: those are the documented option defaults (ENV_OPTIONS in src/cli/main.ts).
 */
const log = debuglog('p2prc');

export function debug(code: ErrorCode, message: string, fields?: Record<string, unknown>): void {
  if (!log.enabled) return;
  log('%s %s%s', code, escapeControl(message), fields && Object.keys(fields).length > 0 ? ` ${safeJson(fields)}` : '');
}

/** A caught failure, logged with its own code (or `fallback` for an uncoded one) and what was going on. */
export function debugFailure(
  what: string,
  err: unknown,
  fallback: ErrorCode = 'E_INTERNAL',
  fields?: Record<string, unknown>,
): void {
  if (!log.enabled) return;
  const e = toP2prcError(err, fallback);
  debug(e.code, `${what}: ${e.message}`, fields);
}

function safeJson(fields: Record<string, unknown>): string {
  try {
    return JSON.stringify(fields);
  } catch {
    return '{"fields":"not serializable"}'; // a debug line must never throw
  }
}
