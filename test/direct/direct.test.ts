import { describe, expect, it } from 'vitest';
import net from 'node:net';
import { once } from 'node:events';
import { createHash, randomBytes } from 'node:crypto';
import { answerDirect, connectDirect, serveChannels, type DirectPath } from '../../src/direct/negotiate.js';
import { bridge } from '../../src/direct/bridge.js';
import { StunResponder } from '../../src/direct/stun-responder.js';
import { newDirectNonce, signAnswer, signallingKey, type DirectAnswer } from '../../src/protocol/direct.js';
import { PeerLink } from '../../src/direct/peer.js';
import { useWorkspace } from '../helpers/workspace.js';

// The signalling key both ends got from their CPace exchange (here: one random record key).
const signalling = signallingKey(randomBytes(32));
const svc = { serviceId: 'db', signalling: async () => signalling };
/** The owner's side: it holds the key the offer names. */
const answer = (peer: Parameters<typeof answerDirect>[2], offer: Parameters<typeof answerDirect>[3]) =>
  answerDirect('db', offer.keyId === signalling.keyId ? signalling.key : undefined, peer, offer);
const { defer } = useWorkspace();

/** A service that sends `size` deterministic bytes to each connection, then closes. */
async function blobServer(size: number): Promise<{ port: number; sha: string }> {
  const blob = randomBytes(size);
  const server = net.createServer((s) => s.end(blob));
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  defer(() => server.close());
  return { port: (server.address() as net.AddressInfo).port, sha: createHash('sha256').update(blob).digest('hex') };
}

async function stun(): Promise<string[]> {
  const r = new StunResponder('127.0.0.1');
  const port = await r.listen(0, '127.0.0.1');
  defer(() => r.close());
  return [`stun:127.0.0.1:${port}`];
}

/** Owner answering in-process; `tamper` plays a host that rewrites what it relays. */
async function pair(
  target: number,
  tamper?: (o: DirectAnswer) => DirectAnswer,
): Promise<{ path: DirectPath; owner: () => PeerLink | undefined }> {
  const peer = { stunServers: await stun(), bindAddress: '127.0.0.1' };
  let ownerLink: PeerLink | undefined;
  const path = await connectDirect(
    svc,
    peer,
    async (offer) => {
      const { link, answer: a } = await answer(peer, offer);
      ownerLink = link;
      defer(() => link.close());
      serveChannels(link, { host: '127.0.0.1', port: target }, () => undefined);
      return tamper ? tamper(a) : a;
    },
    5_000,
  );
  defer(() => path.link.close());
  return { path, owner: () => ownerLink };
}

/** A TCP client through a fresh channel: the visitor's side of one local connection. */
async function fetchThrough(link: PeerLink): Promise<{ bytes: number; sha: string }> {
  const dc = await link.openChannel('tcp');
  const [a, b] = await socketPair();
  bridge(dc, a);
  const hash = createHash('sha256');
  let bytes = 0;
  b.on('error', () => b.destroy());
  b.on('data', (c: Buffer) => (hash.update(c), (bytes += c.length)));
  b.end();
  await once(b, 'close');
  return { bytes, sha: hash.digest('hex') };
}

async function socketPair(): Promise<[net.Socket, net.Socket]> {
  const server = net.createServer({ allowHalfOpen: true });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const client = net.connect((server.address() as net.AddressInfo).port, '127.0.0.1');
  const [accepted] = (await once(server, 'connection')) as [net.Socket];
  server.close();
  await once(client, 'connect');
  return [accepted, client];
}

describe('direct peer path (loopback)', () => {
  it('connects, reports the peer address, and carries 16 MiB byte-identical on each of 3 channels', async () => {
    const target = await blobServer(16 * 1024 * 1024);
    const { path } = await pair(target.port);
    expect(path.peer.address).toBe('127.0.0.1');
    expect(path.peer.port).toBeGreaterThan(0);
    const results = await Promise.all([1, 2, 3].map(() => fetchThrough(path.link)));
    for (const r of results) expect(r).toEqual({ bytes: 16 * 1024 * 1024, sha: target.sha });
  }, 60_000);

  it('refuses an offer under another signalling key (no handshake with the owner), before any ICE', async () => {
    const peer = { stunServers: [], bindAddress: '127.0.0.1' };
    for (const other of [
      signallingKey(randomBytes(32)),
      { ...signallingKey(randomBytes(32)), keyId: signalling.keyId },
    ])
      await expect(
        connectDirect(
          { serviceId: 'db', signalling: async () => other },
          peer,
          (offer) =>
            answer(peer, offer).then((r) => {
              defer(() => r.link.close());
              return r.answer;
            }),
          5_000,
        ),
      ).rejects.toMatchObject({ code: 'E_AUTH' });
  });

  it('refuses an answer whose candidate or fingerprint was swapped on the way', async () => {
    const target = await blobServer(10);
    const swapCandidate = (a: DirectAnswer) => ({
      ...a,
      sdp: a.sdp.replace(/a=candidate:(\S+ \d+ UDP \d+) 127\.0\.0\.1 \d+/g, 'a=candidate:$1 127.0.0.1 9'),
    });
    const swapFingerprint = (a: DirectAnswer) => ({
      ...a,
      sdp: a.sdp.replace(/a=fingerprint:sha-256 \S+/, `a=fingerprint:sha-256 ${'AB:'.repeat(31)}AB`),
    });
    for (const tamper of [swapCandidate, swapFingerprint]) {
      let changed = false;
      await expect(
        pair(target.port, (a) => {
          const t = tamper(a);
          changed = t.sdp !== a.sdp;
          return t;
        }),
      ).rejects.toMatchObject({ code: 'E_AUTH' });
      expect(changed).toBe(true);
    }
  });

  it("tries again with a fresh connection when DTLS fails after ICE connected (libdatachannel's race)", async () => {
    // The first answer is authentic (signed with the secret) but carries another connection's
    // fingerprint: ICE connects, DTLS fails, as in the native race. The second answer is honest.
    const target = await blobServer(1000);
    const peer = { stunServers: await stun(), bindAddress: '127.0.0.1' };
    const other = await PeerLink.create(peer, true);
    defer(() => other.close());
    const foreign = /a=fingerprint:\S+ \S+/.exec(await other.localDescription())![0];
    const answers: string[] = [];
    // Each attempt asks for a key of its own: a real owner takes each key once.
    const keys = [signallingKey(randomBytes(32)), signallingKey(randomBytes(32))];
    const asked: string[] = [];
    const taken = new Set<string>();
    const path = await connectDirect(
      { serviceId: 'db', signalling: async () => (asked.push(keys[asked.length]!.keyId), keys[asked.length - 1]!) },
      peer,
      async (offer) => {
        const k = keys.find((x) => x.keyId === offer.keyId && !taken.has(x.keyId));
        taken.add(offer.keyId!);
        const { link, answer: a } = await answerDirect('db', k?.key, peer, offer);
        defer(() => link.close());
        serveChannels(link, { host: '127.0.0.1', port: target.port }, () => undefined);
        if (answers.push(a.sdp) > 1) return a;
        const sdp = a.sdp.replace(/a=fingerprint:\S+ \S+/, foreign);
        expect(sdp).not.toBe(a.sdp);
        return signAnswer(k!.key, 'db', offer, newDirectNonce(), sdp);
      },
      10_000,
    );
    defer(() => path.link.close());
    expect(answers).toHaveLength(2);
    expect(asked).toEqual(keys.map((k) => k.keyId)); // a fresh key for the second attempt
    expect(await fetchThrough(path.link)).toEqual({ bytes: 1000, sha: target.sha });
  }, 20_000);

  it('declares the path dead when the peer goes away', async () => {
    const target = await blobServer(10);
    const { path, owner } = await pair(target.port);
    const dead = once(path.link, 'dead');
    owner()!.close();
    const [err] = (await dead) as [{ code: string }];
    expect(['E_CLOSED', 'E_TIMEOUT', 'E_UNREACHABLE']).toContain(err.code);
    expect(path.link.closed).toBe(true);
  }, 20_000);
});
