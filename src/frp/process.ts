import { EventEmitter } from 'node:events';
import { appendFile } from 'node:fs/promises';
import { createInterface } from 'node:readline';
import { setTimeout as delay } from 'node:timers/promises';
import type { ResultPromise } from 'execa';
import { P2prcError, toP2prcError } from '../errors.js';
import { backoffDelay } from '../protocol/backoff.js';
import { classifyFrpLine, stripAnsi } from './logs.js';
import { writePrivateConfig, type PrivateFile } from './tempconfig.js';
import type { FrpBinary } from './binary.js';
import { debugFailure } from '../log/debug.js';

/**
 * Runs frp under a tiny shell "lifeline": the shell holds our pipe on its stdin and kills frp when
 * that pipe closes. A pipe closes whenever p2prc ends, SIGKILL included, so no frp outlives us.
 */
const LIFELINE = [
  'exec 3<&0',
  '"$@" </dev/null &',
  'child=$!',
  'echo "P2PRC_FRP_PID $child" >&2',
  '( read -r _ <&3; kill -TERM "$child" 2>/dev/null ) &',
  'watcher=$!',
  'wait "$child"; status=$?',
  'kill "$watcher" 2>/dev/null',
  'exit $status',
].join('\n');

export interface FrpProcessOptions {
  binary: FrpBinary;
  config: string;
  format: 'ini' | 'toml';
  /** frpc: proxies that must report "start proxy success" before ready. Empty for frps. */
  proxies: string[];
  logFile?: string | undefined;
  onLog?: ((line: string) => void) | undefined;
  readyTimeoutMs?: number;
  /** While the server is unreachable, report it and keep waiting (frpc retries itself) instead of failing. */
  waitForServer?: boolean;
}

export interface FrpProcessEvents {
  ready: [];
  error: [P2prcError];
  exit: [number | null];
  restart: [{ attempt: number; delayMs: number }];
  log: [string];
}

export class FrpProcess extends EventEmitter<FrpProcessEvents> {
  pid: number | undefined;
  private child: ResultPromise | undefined;
  private file: PrivateFile | undefined;
  private stopping = false;
  private ready = false;
  private restarting = false;

  constructor(private readonly options: FrpProcessOptions) {
    super();
  }

  /** Starts frp and resolves once it says it is ready; rejects with the mapped error and stops it otherwise. */
  async start(): Promise<void> {
    this.file = await writePrivateConfig(this.options.config, this.options.format);
    try {
      await this.launch();
    } catch (err) {
      await this.stop();
      throw err;
    }
    this.ready = true;
  }

  private async launch(): Promise<void> {
    // execa is loaded when frp is really started: a native host's startup (frpc waits 200 ms) does not pay for it.
    const { execa } = await import('execa');
    const child = execa('sh', ['-c', LIFELINE, 'p2prc-frp', this.options.binary.path, '-c', this.file!.path], {
      stdin: 'pipe',
      stdout: 'pipe',
      stderr: 'pipe',
      reject: false,
      buffer: false,
      // No signal-exit hook: it would re-raise SIGINT before our clean shutdown; the lifeline covers every exit.
      cleanup: false,
    });
    this.child = child;
    const pending = new Set(this.options.proxies);
    let loggedIn = this.options.proxies.length === 0;
    return new Promise<void>((resolve, reject) => {
      const limit = this.options.waitForServer ? 0 : (this.options.readyTimeoutMs ?? 15_000);
      const timer =
        limit > 0
          ? setTimeout(
              () => reject(new P2prcError('E_TIMEOUT', `${this.options.binary.path} not ready within ${limit} ms`)),
              limit,
            )
          : undefined;
      const done = (err?: P2prcError) => {
        clearTimeout(timer);
        if (err) reject(err);
        else resolve();
      };
      const onLine = (raw: string) => {
        const line = stripAnsi(raw);
        const pidLine = /^P2PRC_FRP_PID (\d+)$/.exec(line);
        if (pidLine) return void (this.pid = Number(pidLine[1]));
        this.emit('log', line);
        this.options.onLog?.(line);
        if (this.options.logFile)
          void appendFile(this.options.logFile, `${line}\n`).catch((e: unknown) =>
            debugFailure(`cannot append to ${this.options.logFile}`, e, 'E_CONFIG'),
          );
        const event = classifyFrpLine(line);
        if (!event) return;
        if (event.kind === 'error') {
          const waiting = this.options.waitForServer && event.error.code === 'E_UNREACHABLE';
          if (this.ready || waiting) this.emit('error', event.error);
          else done(event.error);
        } else if (event.kind === 'server-ready') done();
        else if (event.kind === 'login') loggedIn = true;
        else if (event.kind === 'proxy-ready') pending.delete(event.proxy);
        if (loggedIn && pending.size === 0 && this.options.proxies.length > 0) done();
      };
      createInterface({ input: child.stdout! }).on('line', onLine);
      createInterface({ input: child.stderr! }).on('line', onLine);
      void child.then((result) => {
        this.emit('exit', result.exitCode ?? null);
        done(
          new P2prcError(
            'E_UNREACHABLE',
            `${this.options.binary.path} exited with ${result.exitCode ?? result.signal} before it was ready`,
          ),
        );
        if (this.ready && !this.stopping) void this.restartLoop();
      });
    });
  }

  /** frp died on its own after being ready: start it again with capped backoff. */
  private async restartLoop(): Promise<void> {
    if (this.restarting) return;
    this.restarting = true;
    try {
      await this.restartAttempts();
    } finally {
      this.restarting = false;
    }
  }

  private async restartAttempts(): Promise<void> {
    for (let attempt = 1; !this.stopping; attempt++) {
      const delayMs = backoffDelay(attempt);
      this.emit('restart', { attempt, delayMs });
      await delay(delayMs);
      if (this.stopping) return;
      try {
        await this.launch();
        return;
      } catch (err) {
        this.emit('error', toP2prcError(err));
      }
    }
  }

  /** Replaces the config file frp runs with: read again by frpc's reload, and by every restart. */
  async rewriteConfig(config: string): Promise<void> {
    if (!this.file) throw new P2prcError('E_CLOSED', 'frp is not running');
    await this.file.rewrite(config);
  }

  /** Closes the lifeline (frp gets SIGTERM), waits for it, and removes the private config. */
  async stop(): Promise<void> {
    this.stopping = true;
    const child = this.child;
    if (child && child.exitCode === null) {
      child.stdin?.end();
      const killer = setTimeout(() => {
        if (this.pid) process.kill(this.pid, 'SIGKILL');
        child.kill('SIGKILL');
      }, 5_000);
      await child;
      clearTimeout(killer);
    }
    await this.file?.dispose();
  }
}
