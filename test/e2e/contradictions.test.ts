import { describe, expect, it } from 'vitest';
import { runCli } from '../helpers/cli.js';
import { useWorkspace } from '../helpers/workspace.js';

// Flags that contradict each other, and a --public-host that is no host name, are usage errors naming
// them (exit 2) before anything starts, never a host that silently picks one or advertises garbage.
const { tempDir } = useWorkspace();

const host = ['-s', '--reverse-proxy', '--bind', '127.0.0.1', '--control-port', '0', '--port', '0'];

describe('contradicting or invalid host flags', () => {
  const cases: Array<[string[], string]> = [
    [['--insecure', '--tls'], '--insecure and --tls contradict each other (--insecure means --no-tls); give one'],
    [['--tls', '--no-tls'], '--tls and --no-tls contradict each other; give one'],
    [['--no-tls', '--tls'], '--no-tls and --tls contradict each other; give one'],
    [
      ['--public-host', 'not..valid'],
      'invalid --public-host "not..valid" (a host name such as host.example.com, or an IP address)',
    ],
    [['--public-host=-lead.example.com'], 'invalid --public-host "-lead.example.com"'],
    [['--public-host', 'host_name.example.com'], 'invalid --public-host "host_name.example.com"'],
    [['--subdomain-host', 'example.com'], '--subdomain-host needs --vhost-http-port or --vhost-https-port'],
    [['--subdomain-host', 'bad..com', '--vhost-http-port', '0'], 'invalid --subdomain-host "bad..com"'],
  ];
  for (const [flags, message] of cases) {
    it(`${flags.join(' ')}: E_USAGE, exit 2`, async () => {
      const r = await runCli([...host, ...flags, '--config-dir', tempDir('contradict')]);
      expect(r.code).toBe(2);
      expect(r.stderr).toContain(`p2prc: error E_USAGE: ${message}`);
      expect(r.stdout).not.toContain('host is running');
    });
  }

  it('a client: --tls --no-tls is E_USAGE naming both', async () => {
    const r = await runCli([
      '-s',
      '--connect-reverse-proxy',
      '127.0.0.1:1',
      '--tls',
      '--no-tls',
      '--config-dir',
      tempDir('contradict-client'),
    ]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('p2prc: error E_USAGE: --tls and --no-tls contradict each other; give one');
  });
});
