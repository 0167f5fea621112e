/**
 * The library, loaded when a command runs rather than when the CLI starts: `p2prc --help` and option
 * errors then cost yargs and these files only, not every engine module.
 */
export type Library = typeof import('../index.js');

export function loadLibrary(): Promise<Library> {
  return import('../index.js');
}

/** The offline listings (src/views/): what the view commands need, and only that. */
export type Views = typeof import('../views/index.js');

export function loadViews(): Promise<Views> {
  return import('../views/index.js');
}

/** `--config-dir` as given (the library resolves it: flag, then $P2PRC, then the platform directory). */
export function configDirArg(lib: Pick<Library, 'resolveConfigDir'>, args: Record<string, unknown>): string {
  return lib.resolveConfigDir(args['config-dir'] as string | undefined);
}

/**
 * Starts loading the library without waiting: a host or node command calls this before yargs parses its
 * flags, so a host adopts its early control listener sooner (frp's CI suite starts frpc 200 ms after the
 * server). A failure is not reported here: the command's own call meets it again.
 */
export function preloadLibrary(): void {
  loadLibrary().catch(() => undefined);
}
