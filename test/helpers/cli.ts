import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { createInterface } from 'node:readline';
import { once } from 'node:events';
import path from 'node:path';

export const CLI = path.resolve(import.meta.dirname, '..', '..', 'bin', 'p2prc.js');

export interface Running {
  child: ChildProcessWithoutNullStreams;
  stdout: string[];
  stderr: string[];
  /** Resolves with the first stdout line matching, rejects on exit or timeout. */
  waitFor(test: (line: string) => boolean, timeoutMs?: number, stream?: 'stdout' | 'stderr'): Promise<string>;
  exited: Promise<number | null>;
  stop(signal?: NodeJS.Signals): Promise<number | null>;
}

const running = new Set<Running>();

/** Starts the built CLI as a user would; tracked so afterEach can kill leftovers. */
export function startCli(args: string[], env: Record<string, string> = {}, netns?: string): Running {
  // Inside a network namespace the same node binary runs through `ip netns exec`.
  const [cmd, argv] = netns
    ? ['ip', ['netns', 'exec', netns, process.execPath, CLI, ...args]]
    : [process.execPath, [CLI, ...args]];
  const child = spawn(cmd, argv, { env: { ...process.env, ...env }, stdio: ['pipe', 'pipe', 'pipe'] });
  const stdout: string[] = [];
  const stderr: string[] = [];
  const listeners = new Set<() => void>();
  createInterface({ input: child.stdout }).on('line', (l) => (stdout.push(l), listeners.forEach((f) => f())));
  createInterface({ input: child.stderr }).on('line', (l) => (stderr.push(l), listeners.forEach((f) => f())));
  const exited = once(child, 'exit').then(([code]) => code as number | null);
  const r: Running = {
    child,
    stdout,
    stderr,
    exited,
    waitFor(test, timeoutMs = 20_000, stream = 'stdout') {
      return new Promise((resolve, reject) => {
        const lines = stream === 'stdout' ? stdout : stderr;
        const check = () => {
          const hit = lines.find(test);
          if (hit !== undefined) finish(undefined, hit);
        };
        const timer = setTimeout(
          () =>
            finish(new Error(`timeout waiting for output; stdout=${stdout.join('\n')} stderr=${stderr.join('\n')}`)),
          timeoutMs,
        );
        const onExit = (code: number | null) =>
          setImmediate(() => {
            if (done) return;
            check();
            finish(new Error(`exited with ${code}; stdout=${stdout.join('\n')} stderr=${stderr.join('\n')}`));
          });
        let done = false;
        function finish(err?: Error, line?: string) {
          if (done) return;
          done = true;
          clearTimeout(timer);
          listeners.delete(check);
          if (err) reject(err);
          else resolve(line!);
        }
        listeners.add(check);
        void exited.then(onExit);
        check();
      });
    },
    async stop(signal = 'SIGINT') {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
      const code = await exited;
      running.delete(r);
      return code;
    },
  };
  running.add(r);
  return r;
}

/** Runs the CLI to completion. */
export async function runCli(
  args: string[],
  env: Record<string, string> = {},
  timeoutMs = 30_000,
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const r = startCli(args, env);
  const timer = setTimeout(() => r.child.kill('SIGKILL'), timeoutMs);
  const code = await r.exited;
  clearTimeout(timer);
  running.delete(r);
  return { code, stdout: r.stdout.join('\n'), stderr: r.stderr.join('\n') };
}

export async function killAll(): Promise<void> {
  await Promise.all([...running].map((r) => r.stop('SIGKILL')));
}

export function parsePublished(line: string): { publicAddress: string; host: string; port: number; localPort: number } {
  const m = /^Published: (\S+):(\d+) -> 127\.0\.0\.1:(\d+)(?: \([^)]*\))?$/.exec(line);
  if (!m) throw new Error(`not a Published line: ${line}`);
  return { publicAddress: `${m[1]}:${m[2]}`, host: m[1]!, port: Number(m[2]), localPort: Number(m[3]) };
}
