/**
 * The library, loaded when a command runs rather than when the CLI starts: `p2prc --help` and option
 * errors then cost yargs and these files only, not every engine module (measured in docs/architecture.md).
 * Every command reaches the project through this one door (test/cli/boundary.test.ts holds it shut).
 */
export type Library = typeof import('../index.js');

export function loadLibrary(): Promise<Library> {
  return import('../index.js');
}

/** The views' part of the library (src/views.ts): what the offline listing commands need, and only that. */
export type Views = typeof import('../views.js');

export function loadViews(): Promise<Views> {
  return import('../views.js');
}

/** `--config-dir` as given (the library resolves it: flag, then $P2PRC, then the platform directory). */
export function configDirArg(lib: Pick<Library, 'resolveConfigDir'>, args: Record<string, unknown>): string {
  return lib.resolveConfigDir(args['config-dir'] as string | undefined);
}

/**
 * Starts loading the library and the code of its modes without waiting: a host or node command calls
 * this before yargs parses its flags, so the reading of files overlaps and a host adopts its early
 * control listener sooner (frp's CI suite starts frpc 200 ms after the server and sends traffic 500 ms
 * later). A failure is not reported here: the command's own call meets it again.
 */
export function preloadModes(): void {
  loadLibrary().then((lib) => lib.preloadModes()).catch(() => undefined);
}
