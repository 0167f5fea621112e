import { describe, expect, it } from 'vitest';
import { statusEvent } from '../../src/cli/status-events.js';

// JSON log lines name what happened; "status" is left for lines nothing else describes.
describe('the event of a status line', () => {
  const cases: Array<[string, string, boolean?]> = [
    ['status: E_CLOSED: control connection to the host was lost; retrying in 0.3s (attempt 1)', 'retrying'],
    ['status: E_UNREACHABLE: 127.0.0.1:7000 is unreachable (ECONNREFUSED); retrying in 0.6s (attempt 2)', 'retrying'],
    ['status: reconnected; tunnels restored', 'reconnected'],
    ['status: reconnected to frps; proxies restored', 'reconnected'],
    ['status: frps refused port 6001 for web; letting frps choose one', 'port-reassigned'],
    ['  caused by: Error: connect ECONNREFUSED 127.0.0.1:7000 [ECONNREFUSED]', 'cause'],
    ['pinned AB:CD for 127.0.0.1:7000', 'pinned'],
    ['re-pinned AB:CD for 127.0.0.1:7000 (was EF:01)', 'pinned'],
    ['token for 127.0.0.1:7000 stored in /x/secrets.json (a secret: next time the address is enough)', 'token-stored'],
    ['nothing listens on 127.0.0.1:3000 (expose-3000); visitors get an empty reply', 'local-service-missing', true],
    [
      'local service 127.0.0.1:3000 unreachable: connect ECONNREFUSED (expose-3000: ...)',
      'local-service-unreachable',
      true,
    ],
    ['cannot record tunnel web in /x/reverse_proxy_mapping.json: E_CONFIG: ...', 'record-write-failed', true],
    ['chose reverse proxy 203.0.113.10:7000: lowest latency', 'host-chosen'],
    ['reverse proxy 203.0.113.10:7000 lost for 30s; failing over', 'failover'],
    ['engine: native (the host speaks p2prc)', 'engine'],
    ['the token is only 6 characters long: whoever can reach the control port may guess it; ...', 'weak-token', true],
    ['node server port 8088 is taken; using 40123', 'node-port-changed', true],
    ['something new', 'warning', true],
    ['something new', 'status'],
  ];
  for (const [line, event, warning] of cases)
    it(`${event}: ${line.slice(0, 50)}`, () => expect(statusEvent(line, warning)).toBe(event));
});
