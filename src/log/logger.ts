import { closeSync, openSync, writeSync } from 'node:fs';
import { P2prcError, escapeControl } from '../errors.js';

export type LogLevel = 'error' | 'warn' | 'info' | 'debug';
export type LogFormat = 'text' | 'json';
export const LOG_LEVELS: readonly LogLevel[] = ['error', 'warn', 'info', 'debug'];

export type LogFields = Record<string, string | number | boolean | null | undefined>;

/** The levels a component logs at: its failures are thrown as coded errors, for its caller to report. */
export type ComponentLevel = Exclude<LogLevel, 'error'>;

/**
 * How a component logs: a level and one line of text, and for structured (--log-format json) logs the
 * event it names with its fields. Whoever owns the Logger (or the host's 'log' event) decides where it goes.
 */
export type LogFn = (level: ComponentLevel, message: string, event?: string, fields?: LogFields) => void;

export interface LoggerOptions {
  level?: LogLevel;
  format?: LogFormat;
  /** Append to this file instead of stderr; reopen() starts a new file after logrotate moved it. */
  file?: string;
  /** Where lines go without a file (tests pass their own). Default: stderr. */
  write?: (line: string) => void;
  now?: () => Date;
}

const RANK: Record<LogLevel, number> = { error: 0, warn: 1, info: 2, debug: 3 };

/** One line per record (control characters escaped): `[time] level: message` for people, one JSON object for machines. Pure. */
export function formatLine(
  format: LogFormat,
  time: Date,
  level: LogLevel,
  event: string,
  message: string,
  fields: LogFields = {},
): string {
  if (format === 'json') {
    const clean: LogFields = {};
    for (const [k, v] of Object.entries(fields)) if (v !== undefined) clean[k] = v;
    return JSON.stringify({ time: time.toISOString(), level, event, message, ...clean });
  }
  return `[${time.toISOString()}] ${level}: ${escapeControl(message)}`;
}

export function parseLogLevel(value: unknown, option = '--log-level'): LogLevel {
  if (LOG_LEVELS.includes(value as LogLevel)) return value as LogLevel;
  throw new P2prcError('E_USAGE', `invalid ${option} "${String(value)}" (one of ${LOG_LEVELS.join(', ')})`);
}

/**
 * Levelled logger for the CLI's long-running modes. File output is written synchronously so lines
 * keep their order and a crash loses nothing; logs are per event (logins, tunnels, refusals),
 * never per chunk of data, so this is not on the data path.
 */
export class Logger {
  readonly level: LogLevel;
  readonly format: LogFormat;
  private fd: number | undefined;
  private readonly write: (line: string) => void;
  private readonly now: () => Date;

  constructor(private readonly o: LoggerOptions = {}) {
    this.level = o.level ?? 'info';
    this.format = o.format ?? 'text';
    this.now = o.now ?? (() => new Date());
    if (o.file) this.fd = this.openFile(o.file);
    this.write = o.write ?? ((line) => process.stderr.write(line));
  }

  enabled(level: LogLevel): boolean {
    return RANK[level] <= RANK[this.level];
  }

  log(level: LogLevel, event: string, message: string, fields?: LogFields): void {
    if (!this.enabled(level)) return;
    const line = `${formatLine(this.format, this.now(), level, event, message, fields)}\n`;
    if (this.fd !== undefined) writeSync(this.fd, line);
    else this.write(line);
  }

  error(event: string, message: string, fields?: LogFields): void {
    this.log('error', event, message, fields);
  }
  warn(event: string, message: string, fields?: LogFields): void {
    this.log('warn', event, message, fields);
  }
  info(event: string, message: string, fields?: LogFields): void {
    this.log('info', event, message, fields);
  }
  debug(event: string, message: string, fields?: LogFields): void {
    this.log('debug', event, message, fields);
  }

  /** After logrotate renamed the file: open the path again (a new file), then close the old one. */
  reopen(): void {
    if (!this.o.file || this.fd === undefined) return;
    const old = this.fd;
    this.fd = this.openFile(this.o.file);
    closeSync(old);
  }

  /** Reopens on SIGHUP until the returned function is called. */
  reopenOnSighup(): () => void {
    const on = () => this.reopen();
    process.on('SIGHUP', on);
    return () => process.off('SIGHUP', on);
  }

  close(): void {
    if (this.fd !== undefined) closeSync(this.fd);
    this.fd = undefined;
  }

  private openFile(file: string): number {
    try {
      return openSync(file, 'a', 0o640);
    } catch (err) {
      throw new P2prcError('E_USAGE', `cannot open --log-file ${file}: ${(err as Error).message}`, { cause: err });
    }
  }
}
