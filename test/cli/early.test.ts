import { describe, expect, it } from 'vitest';
import { earlyControlTarget } from '../../src/cli/early.js';

describe('earlyControlTarget (pure)', () => {
  it.each([
    [['-s', '--reverse-proxy', '--control-port', '7100'], { port: 7100, host: '0.0.0.0' }],
    [['-s', '--reverse-proxy', '--control-port=7100', '--bind=127.0.0.1'], { port: 7100, host: '127.0.0.1' }],
    [
      ['-s', '--reverse-proxy', '--control-port', '7100', '--engine', 'native', '--bind', '::1'],
      { port: 7100, host: '::1' },
    ],
  ])('%j -> %j', (argv, want) => expect(earlyControlTarget(argv)).toEqual(want));

  it.each([
    [['-s', '--reverse-proxy']], // port from the config or the default: read the normal way
    [['-s', '--reverse-proxy', '--control-port', '0']],
    [['-s', '--reverse-proxy', '--control-port', '70000']],
    [['-s', '--reverse-proxy', '--control-port', 'x']],
    [['-s', '--reverse-proxy', '--control-port', '7100', '--engine', 'frp']], // frps binds it
    [['-s', '--reverse-proxy', '--control-port', '7100', '--help']],
    [['-s', '--connect-reverse-proxy', '127.0.0.1', '--control-port', '7100']],
  ])('%j -> none', (argv) => expect(earlyControlTarget(argv)).toBeUndefined());
});
