/**
 * The event name of a client's status line (or a host's start-up warning) in structured (--log-format json) logs: what happened, so
 * a program can select retries or a lost local service without reading the text. The library says
 * these as lines (they are also what a person reads); the first pattern that matches names the
 * event. `line` is the text without its "warning: " prefix. Pure.
 */
const EVENTS: Array<[RegExp, string]> = [
  [/^ {2}caused by:/, 'cause'],
  [/^status: reconnected\b/, 'reconnected'],
  [/^status: frps refused port|^frps refused port/, 'port-reassigned'],
  [/^status: .*\bretrying in\b/, 'retrying'],
  [/^status: /, 'connection'],
  [/^(re-)?pinned /, 'pinned'],
  [/^token for \S+ stored in /, 'token-stored'],
  [/^nothing listens on /, 'local-service-missing'],
  [/^local service \S+ unreachable: /, 'local-service-unreachable'],
  [/^cannot record /, 'record-write-failed'],
  [/^(chose reverse proxy|skipping )|; trying the next one$/, 'host-chosen'],
  [/; failing over$|^failover failed: /, 'failover'],
  [/^engine: /, 'engine'],
  [/^frpc exited|^frp: /, 'frpc'],
  [/ is a P2PRC node lending frp port /, 'lent-port'],
  // The host's start-up warnings.
  [/^the token is only \d+ characters long/, 'weak-token'],
  [/^node server port \d+ is taken; using /, 'node-port-changed'],
];

export function statusEvent(line: string, warning = false): string {
  for (const [pattern, event] of EVENTS) if (pattern.test(line)) return event;
  return warning ? 'warning' : 'status';
}
