import { describe, expect, it } from 'vitest';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { CLI as CLI_PATH, runCli } from '../helpers/cli.js';
import { fold, renderExamples } from '../../src/cli/help.js';

// --help as a new user reads it: examples whole, frp's commands with their own help.

/** The Examples section of a help text: its command lines (two spaces in) and description lines (six). */
function examplesOf(help: string): { commands: string[]; descriptions: string[] } {
  const lines = help.split('\n');
  const start = lines.indexOf('Examples:');
  expect(start, help).toBeGreaterThan(0);
  const section = lines.slice(start + 1).filter((l) => l.trim() !== '');
  return {
    commands: section.filter((l) => /^ {2}\S/.test(l)).map((l) => l.trim()),
    descriptions: section.filter((l) => l.startsWith('      ')),
  };
}

/** A command line as a user types it: optional VAR=value words, then p2prc. */
const COMMAND = /^([A-Z][A-Z0-9_]*=\S+ )*p2prc( |$)/;

describe('--help examples', () => {
  it('print every command of every mode whole on its own line, the description below it', async () => {
    const modes = [
      ['-s', '--reverse-proxy'],
      ['-s', '--connect-reverse-proxy', 'x'],
      ['--view-rps'],
      ['--view-rpm'],
      ['-s'],
      ['--view-clients'],
      ['--list-services', 'x'],
      ['--visit', 'x'],
      ['--add-user', 'x'],
      ['--ls'],
      ['--as', 'x'],
      ['frp'],
      ['frp', 'install'],
      ['frp', 'which'],
    ];
    for (const mode of modes) {
      const r = await runCli([...mode, '--help']);
      expect(r.code, mode.join(' ')).toBe(0);
      const { commands, descriptions } = examplesOf(r.stdout);
      expect(commands.length, mode.join(' ')).toBeGreaterThan(0);
      for (const c of commands)
        expect(c, `${mode.join(' ')}: a wrapped command or a description in its place`).toMatch(COMMAND);
      expect(descriptions.length, mode.join(' ')).toBeGreaterThanOrEqual(commands.length);
    }
  });

  it("--expose's help shows the http: form and the name= form, not only a grammar", async () => {
    const help = (await runCli(['-s', '--connect-reverse-proxy', 'x', '--help'])).stdout;
    const expose = help.slice(help.indexOf('--expose'), help.indexOf('--service')).replace(/\s+/g, ' ');
    expect(expose).toContain('http:3000@app');
    expect(expose).toContain('web=http:3000@app');
  });

  it('keeps the long host examples in one piece', async () => {
    const { commands } = examplesOf((await runCli(['-s', '--reverse-proxy', '--help'])).stdout);
    expect(commands).toContain(
      'p2prc -s --reverse-proxy --control-port 7000 --allow-ports 6000-6100 --public-host 203.0.113.10',
    );
    expect(commands).toContain('P2PRC_TOKEN=secret p2prc -s --reverse-proxy --no-tls --bind 127.0.0.1');
  });
});

describe('frp help', () => {
  it('p2prc frp --help has examples of both actions', async () => {
    const r = await runCli(['frp', '--help']);
    expect(r.code).toBe(0);
    const { commands } = examplesOf(r.stdout);
    expect(commands).toContain('p2prc frp install');
    expect(commands).toContain('p2prc frp which');
  });

  it('p2prc frp install --help and p2prc frp which --help are their own, with their own options', async () => {
    const install = await runCli(['frp', 'install', '--help']);
    expect(install.code).toBe(0);
    expect(install.stdout.split('\n')[0]).toBe(
      'p2prc frp install [--version <v>] [--platform <os-arch>] [--mirror <url>]',
    );
    expect(install.stdout).toContain('the newest in vendor/frp.json');
    expect(install.stdout).not.toContain('--frp-bin-dir');
    const which = await runCli(['frp', 'which', '--help']);
    expect(which.code).toBe(0);
    expect(which.stdout.split('\n')[0]).toBe('p2prc frp which [--frp-bin-dir <dir>] [--json]');
    expect(which.stdout).toContain('--frp-bin-dir');
    expect(which.stdout).not.toContain('--mirror');
    expect(install.stdout).not.toBe(which.stdout);
  });

  it('p2prc frp alone, or with an unknown action, is a usage error', async () => {
    expect((await runCli(['frp'])).code).toBe(2);
    expect((await runCli(['frp', 'bogus'])).code).toBe(2);
  });
});

describe('renderExamples', () => {
  it('never breaks a command; folds descriptions under it', () => {
    const long = `p2prc ${'--flag value '.repeat(20).trim()}`;
    const text = renderExamples([[long, 'word '.repeat(40).trim()]], 60);
    const lines = text.trimEnd().split('\n');
    expect(lines[0]).toBe('Examples:');
    expect(lines[1]).toBe(`  ${long}`);
    expect(lines.slice(2).every((l) => l.startsWith('      ') && l.length <= 60)).toBe(true);
    expect(fold('a b c', 3)).toEqual(['a b', 'c']);
    expect(fold('abcdef', 3)).toEqual(['abcdef']);
    expect(renderExamples([])).toBe('');
  });
});

describe('output to a reader that stops early', () => {
  it('`p2prc --help | head -1`: the closed pipe ends the command quietly with status 0', async () => {
    const child = spawn(
      'bash',
      ['-c', 'set -o pipefail; "$0" "$1" -s --connect-reverse-proxy --help | head -1', process.execPath, CLI_PATH],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const [code] = (await once(child, 'exit')) as [number | null];
    expect(stdout).toMatch(/^p2prc -s --connect-reverse-proxy/);
    expect(stderr).toBe('');
    expect(code).toBe(0);
  });
});
