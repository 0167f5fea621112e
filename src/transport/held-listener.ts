import net from 'node:net';

/**
 * Socket activation inside one process: the launcher binds the host's control port before the rest of
 * the program is loaded, and the host adopts that listener (with the connections that arrived meanwhile)
 * once it is ready. The kernel completes TCP handshakes from the moment of listen(), so a client that
 * dials during startup (frpc gives up on a failed first login) is served late rather than refused.
 */
interface Held {
  port: number;
  host: string;
  server: net.Server;
  queue: net.Socket[];
  ready: Promise<boolean>;
  onConnection: (socket: net.Socket) => void;
}

function dropQueued(this: net.Socket): void {
  this.destroy();
}

/** Connections kept while the host loads; more are refused rather than buffered without bound. */
const MAX_QUEUED = 256;
let held: Held | undefined;

/** Starts listening on host:port now; a failure (port taken) is left for the host's own listen to report. */
export function holdListener(port: number, host: string): void {
  if (held || !Number.isInteger(port) || port < 1 || port > 65535) return;
  // Same options as the host's own server: half-open relays, no Nagle delay.
  const server = net.createServer({ noDelay: true, allowHalfOpen: true });
  const queue: net.Socket[] = [];
  const onConnection = (socket: net.Socket): void => {
    if (queue.length >= MAX_QUEUED) return void socket.destroy();
    queue.push(socket);
    // A reset while queued must not crash the process; the host installs its own handler on adoption.
    socket.on('error', dropQueued);
    // Not read until adopted: the bytes stay in the socket's buffer for the host's protocol sniffing.
  };
  server.on('connection', onConnection);
  const ready = new Promise<boolean>((resolve) => {
    server.once('listening', () => resolve(true));
    server.once('error', () => {
      if (held?.server === server) held = undefined;
      resolve(false);
    });
  });
  server.listen({ port, host, exclusive: true });
  held = { port, host, server, queue, ready, onConnection };
}

/**
 * The held listener for exactly this port and address, with the sockets that arrived before; undefined
 * when none was held (or its listen failed), so the caller listens itself.
 */
export async function adoptHeldListener(
  port: number,
  host: string,
): Promise<{ server: net.Server; queued: net.Socket[] } | undefined> {
  const h = held;
  if (!h || h.port !== port || h.host !== host) return undefined;
  held = undefined;
  if (!(await h.ready)) return undefined;
  h.server.off('connection', h.onConnection);
  // Ones that closed while waiting are dropped here rather than tracked with listeners of our own.
  for (const s of h.queue) s.off('error', dropQueued);
  return { server: h.server, queued: h.queue.filter((s) => !s.destroyed) };
}
