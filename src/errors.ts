/**
 * One error class for the whole project. Callers branch on `code`, never on message text.
 * The CLI maps codes to exit statuses through EXIT_CODES.
 */
export const ERROR_CODES = {
  E_USAGE: 'bad command-line usage or option value',
  E_CONFIG: 'invalid configuration or record file',
  E_AUTH: 'authentication failed',
  E_SECRET: 'the service secret was not accepted',
  E_PROTOCOL: 'peer violated the protocol',
  E_VERSION: 'unsupported protocol version',
  E_PORT_TAKEN: 'port already in use',
  E_PORT_DENIED: 'port not allowed by the host policy',
  E_QUOTA: 'quota exceeded',
  E_TIMEOUT: 'operation timed out',
  E_UNREACHABLE: 'host unreachable',
  E_TLS: 'TLS failure or certificate mismatch',
  E_CLOSED: 'connection closed',
  E_TOO_LARGE: 'message exceeds the size limit',
  E_FRP_MISSING: 'frp binary not found',
  E_FRP_VERSION: 'unsupported frp version',
  E_CHECKSUM: 'checksum mismatch',
  E_DOWNLOAD: 'download failed',
  E_LOCKED: 'could not acquire the record lock',
  E_NOT_AVAILABLE: 'feature not available',
  E_NOT_FOUND: 'no such service or node',
  E_CONFLICT: 'name already registered by someone else',
  E_NO_DIRECT: 'no direct path to the peer (--direct only)',
  E_INTERNAL: 'internal error',
} as const;

export type ErrorCode = keyof typeof ERROR_CODES;

/** Process exit statuses, documented in docs/cli.md. */
export const EXIT_CODES: Record<ErrorCode, number> = {
  E_USAGE: 2,
  E_CONFIG: 2,
  E_AUTH: 3,
  E_SECRET: 3,
  E_PORT_TAKEN: 4,
  E_PORT_DENIED: 4,
  E_QUOTA: 4,
  E_UNREACHABLE: 5,
  E_TIMEOUT: 5,
  E_TLS: 6,
  E_PROTOCOL: 1,
  E_VERSION: 1,
  E_CLOSED: 1,
  E_TOO_LARGE: 1,
  E_FRP_MISSING: 7,
  E_FRP_VERSION: 7,
  E_CHECKSUM: 1,
  E_DOWNLOAD: 1,
  E_LOCKED: 1,
  E_NOT_AVAILABLE: 1,
  E_NOT_FOUND: 5,
  E_CONFLICT: 4,
  E_NO_DIRECT: 8,
  E_INTERNAL: 1,
};

export class P2prcError extends Error {
  readonly code: ErrorCode;
  /** Extra facts for programs (which side refused a port, the file path, ...). */
  readonly details: Record<string, unknown>;

  constructor(code: ErrorCode, message: string, options: { cause?: unknown; details?: Record<string, unknown> } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'P2prcError';
    this.code = code;
    this.details = options.details ?? {};
  }
}

export function isP2prcError(err: unknown, code?: ErrorCode): err is P2prcError {
  return err instanceof P2prcError && (code === undefined || err.code === code);
}

export function isErrorCode(value: unknown): value is ErrorCode {
  return typeof value === 'string' && Object.hasOwn(ERROR_CODES, value);
}

/** Wraps anything thrown into a P2prcError, keeping an existing code. */
export function toP2prcError(err: unknown, fallback: ErrorCode = 'E_INTERNAL'): P2prcError {
  if (err instanceof P2prcError) return err;
  const message = err instanceof Error ? err.message : String(err);
  return new P2prcError(fallback, message, { cause: err });
}

/**
 * The cause chain under `err`, one line each, outermost first, with what the OS said (errno code and
 * number, syscall, address): what --verbose prints under an error. An AggregateError (a dial that
 * tried several addresses) lists each attempt. Bounded, in case a chain loops.
 */
export function causeLines(err: unknown, max = 10): string[] {
  const lines: string[] = [];
  const visit = (cause: unknown, depth: number): void => {
    if (cause === undefined || cause === null || lines.length >= max) return;
    if (!(cause instanceof Error)) return void lines.push(`${'  '.repeat(depth)}caused by: ${String(cause)}`);
    const e = cause as NodeJS.ErrnoException & { address?: string; port?: number };
    const os = [
      e.code,
      e.errno !== undefined ? `errno ${e.errno}` : undefined,
      e.syscall ? `syscall ${e.syscall}` : undefined,
      e.address ? `address ${e.address}${e.port !== undefined ? `:${e.port}` : ''}` : undefined,
    ].filter((x) => x !== undefined && !(cause instanceof P2prcError && x === e.code));
    lines.push(
      `${'  '.repeat(depth)}caused by: ${cause.name}: ${cause.message}${os.length ? ` [${os.join(', ')}]` : ''}`,
    );
    if (cause instanceof AggregateError) for (const inner of cause.errors) visit(inner, depth + 1);
    visit(cause.cause, depth);
  };
  visit(err instanceof Error ? err.cause : undefined, 1);
  return lines;
}

/**
 * Control characters (C0, DEL, C1) and the Unicode line and paragraph separators as `\xNN`/`\uNNNN`.
 * Peers choose names, ids, Host headers and error texts: escaped, a newline in one of them cannot
 * start a forged log line or move a terminal's cursor. Applied where lines are made (the host's log
 * event, the CLI's formatter and error line, the debug log), so no call site can forget it; here, at the
 * bottom layer, because every layer prints messages that carry such text. Costs nothing on the data path.
 */
// eslint-disable-next-line no-control-regex -- control characters are what this strips
const CONTROL = /[\u0000-\u001f\u007f-\u009f\u2028\u2029]/g;

export function escapeControl(text: string): string {
  return text.replace(CONTROL, (c) => {
    const n = c.charCodeAt(0);
    return n <= 0xff ? `\\x${n.toString(16).padStart(2, '0')}` : `\\u${n.toString(16)}`;
  });
}
