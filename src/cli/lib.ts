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
