import { describe, expect, it } from 'vitest';
import net from 'node:net';
import { once } from 'node:events';
import { randomBytes } from 'node:crypto';
import { ServiceVisitor } from '../../src/index.js';
import {
  grantTicket,
  ownerAccept,
  readFirst,
  requestTicket,
  visitorHandshake,
  visitorResume,
} from '../../src/services/link.js';
import { Opener } from '../../src/services/e2e.js';
import { TICKET_TTL_MS, TicketStore, ticketFrom } from '../../src/services/resume.js';
import { client, echoServer, host, listen, roundTrip, sha256 } from '../helpers/engine.js';
import { useWorkspace } from '../helpers/workspace.js';

const { defer } = useWorkspace();

async function socketPair(): Promise<[net.Socket, net.Socket]> {
  const server = net.createServer();
  const port = await listen(server);
  const accepted = once(server, 'connection');
  const a = net.connect(port, '127.0.0.1');
  const [b] = (await accepted) as [net.Socket];
  await once(a, 'connect').catch(() => undefined);
  defer(() => (a.destroy(), b.destroy(), server.close()));
  return [a, b];
}

/** A full handshake that leaves the owner holding a ticket, as a visitor's start does. */
async function ticketed(tickets: TicketStore) {
  const [a, b] = await socketPair();
  const [vk, owner] = await Promise.all([visitorHandshake(a, 's3cret', 'db'), ownerAccept(b, 's3cret', 'db', tickets)]);
  const granted = readFirst(b, new Opener(owner.keys!.receive), 'marker').then(() =>
    grantTicket(b, owner.keys!, tickets),
  );
  const ticket = await requestTicket(a, vk);
  await granted;
  return ticket!;
}

describe('resumed service handshakes', () => {
  it('a ticket from a full handshake opens later connections with fresh keys each, no curve work', async () => {
    const tickets = new TicketStore();
    const ticket = await ticketed(tickets);
    expect(tickets.size).toBe(1);
    const seen: string[] = [];
    for (let i = 0; i < 2; i++) {
      const [a, b] = await socketPair();
      const [vk, owner] = await Promise.all([visitorResume(a, ticket), ownerAccept(b, 'ignored', 'db', tickets)]);
      expect(owner.keys?.resumed).toBe(true);
      expect(vk.send.equals(owner.keys!.receive) && vk.receive.equals(owner.keys!.send)).toBe(true);
      seen.push(vk.send.toString('hex'));
    }
    expect(new Set(seen).size).toBe(2);
  });

  it('an unknown or expired ticket is refused without counting a guess; the visitor gets E_CLOSED', async () => {
    let now = Date.now();
    const tickets = new TicketStore(() => now);
    const ticket = await ticketed(tickets);
    now += TICKET_TTL_MS + 60_000;
    const [a, b] = await socketPair();
    const visitor = visitorResume(a, ticket).catch((e: unknown) => e);
    const owner = await ownerAccept(b, 's3cret', 'db', tickets);
    expect(owner).toEqual({ keys: undefined, guessed: false });
    b.destroy();
    expect(await visitor).toMatchObject({ code: 'E_CLOSED' });
    // Someone with the ticket id but not its key (the host saw the id) gets no keys, and no guess either.
    const fresh = new TicketStore();
    const real = await ticketed(fresh);
    const [c, d] = await socketPair();
    const forged = visitorResume(c, { ...real, key: randomBytes(32) }).catch((e: unknown) => e);
    const refused = ownerAccept(d, 's3cret', 'db', fresh);
    expect(await forged).toMatchObject({ code: 'E_CLOSED' });
    c.destroy();
    expect(await refused).toEqual({ keys: undefined, guessed: false });
  });

  it('an owner keeps a bounded number of tickets, oldest out first', () => {
    const store = new TicketStore();
    const first = ticketFrom(randomBytes(32));
    store.add(first);
    for (let i = 0; i < 1024; i++) store.add(ticketFrom(randomBytes(32)));
    expect(store.size).toBe(1024);
    expect(store.find(first.id)).toBeUndefined();
  });

  it('a visitor falls back to a full handshake when its owner restarted and lost the tickets', async () => {
    const h = await host({ tls: false });
    const echo = await echoServer();
    const logs: string[] = [];
    h.host.on('log', (l) => logs.push(l.message));
    const services = [{ id: 'r', secret: 'resume-secret', localPort: echo, ownerKey: 'cd'.repeat(32) }];
    const owner = client(h, { tls: false, tunnels: [], services });
    await owner.ready;
    const v = new ServiceVisitor({
      host: '127.0.0.1',
      port: h.port,
      token: h.token,
      tls: false,
      serviceId: 'r',
      secret: 'resume-secret',
      localPort: 0,
      direct: 'off',
    });
    defer(() => v.close());
    await v.start();
    const msg = Buffer.from('resumed '.repeat(10_000));
    expect((await roundTrip(v.port, msg)).sha).toBe(sha256(msg));
    await owner.close();
    const again = client(h, { tls: false, tunnels: [], services });
    await again.ready;
    const t0 = Date.now();
    expect((await roundTrip(v.port, msg)).sha).toBe(sha256(msg));
    expect(Date.now() - t0).toBeLessThan(5_000);
    expect((await roundTrip(v.port, msg)).sha).toBe(sha256(msg));
    expect(logs.some((m) => m.includes('wrong secret'))).toBe(false);
  }, 30_000);
});
