/** Value of `--name V` or `--name=V`; undefined when absent. */
function flag(argv: string[], name: string): string | undefined {
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === name) return argv[i + 1];
    if (a.startsWith(`${name}=`)) return a.slice(name.length + 1);
  }
  return undefined;
}

/**
 * The control port a host command will listen on, known from argv alone: only for the native host
 * with an explicit `--control-port N` (a port from the config or environment is read later, the normal
 * way). Pure, so the launcher can run it before anything else is loaded.
 */
export function earlyControlTarget(argv: string[]): { port: number; host: string } | undefined {
  if (!argv.includes('--reverse-proxy') || argv.includes('--help') || argv.includes('-h')) return undefined;
  const engine = flag(argv, '--engine');
  if (engine !== undefined && engine !== 'native') return undefined;
  const port = Number(flag(argv, '--control-port'));
  if (!Number.isInteger(port) || port < 1 || port > 65535) return undefined;
  return { port, host: flag(argv, '--bind') ?? '0.0.0.0' };
}
