import { describe, expect, it } from 'vitest';
import dgram from 'node:dgram';
import { once } from 'node:events';
import { randomBytes } from 'node:crypto';
import fc from 'fast-check';
import {
  STUN_HEADER,
  decodeBindingRequest,
  decodeBindingResponse,
  encodeBindingRequest,
  encodeBindingResponse,
} from '../../src/direct/stun.js';
import { StunResponder } from '../../src/direct/stun-responder.js';
import { SourceBuckets } from '../../src/protocol/token-bucket.js';
import { until } from '../helpers/engine.js';

describe('STUN binding codec', () => {
  it('round-trips a request and a response for IPv4 and IPv6', () => {
    const tid = randomBytes(12);
    expect(decodeBindingRequest(encodeBindingRequest(tid))?.transactionId).toEqual(tid);
    for (const mapped of [
      { address: '203.0.113.7', port: 40001 },
      { address: '2001:db8:0:0:0:0:0:1', port: 1 },
    ]) {
      const res = encodeBindingResponse(tid, mapped);
      expect(res.length % 4).toBe(0);
      const back = decodeBindingResponse(res, tid);
      expect(back).toEqual(mapped);
      // a response for another transaction is not ours
      expect(decodeBindingResponse(res, randomBytes(12))).toBeUndefined();
    }
  });

  it('matches RFC 5769 test vector 2.2: the XOR-MAPPED-ADDRESS of 192.0.2.1:32853', () => {
    const tid = Buffer.from('b7e7a701bc34d686fa87dfae', 'hex');
    const res = encodeBindingResponse(tid, { address: '192.0.2.1', port: 32853 });
    // type 0x0020, length 8, family 1, x-port 0xa147, x-address 0xe112a643 (from the RFC's vector)
    expect(res.subarray(20, 32).toString('hex')).toBe('002000080001a147e112a643');
    // FINGERPRINT: CRC-32 over everything before it, xor 0x5354554e
    expect(res.readUInt16BE(32)).toBe(0x8028);
  });

  it('rejects responses, truncations and junk without throwing (fuzzed)', () => {
    const tid = randomBytes(12);
    expect(decodeBindingRequest(encodeBindingResponse(tid, { address: '10.0.0.1', port: 9 }))).toBeUndefined();
    const req = encodeBindingRequest(tid);
    for (let n = 0; n < req.length; n++) expect(decodeBindingRequest(req.subarray(0, n))).toBeUndefined();
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 1200 }), (bytes) => {
        const b = Buffer.from(bytes);
        const r = decodeBindingRequest(b);
        if (r) expect(r.transactionId).toEqual(b.subarray(8, 20));
        decodeBindingResponse(b, tid);
      }),
      { numRuns: 2000 },
    );
    // well-formed header, bogus attribute lengths
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 4, maxLength: 64 }), (attrs) => {
        const body = Buffer.from(attrs.subarray(0, attrs.length - (attrs.length % 4)));
        const msg = Buffer.concat([req, body]);
        msg.writeUInt16BE(body.length, 2);
        const r = decodeBindingRequest(msg);
        if (r) expect(r.transactionId).toEqual(tid);
      }),
      { numRuns: 1000 },
    );
  });
});

describe('STUN responder', () => {
  it("answers a binding request with the sender's address and ignores junk", async () => {
    const responder = new StunResponder('127.0.0.1');
    const port = await responder.listen(0, '127.0.0.1');
    const client = dgram.createSocket('udp4');
    try {
      await new Promise<void>((r) => client.bind(0, '127.0.0.1', r));
      client.send(Buffer.from('not stun at all, padded to twenty+ bytes'), port, '127.0.0.1');
      const tid = randomBytes(12);
      client.send(encodeBindingRequest(tid), port, '127.0.0.1');
      const [msg] = (await once(client, 'message')) as [Buffer];
      expect(decodeBindingResponse(msg, tid)).toEqual({ address: '127.0.0.1', port: client.address().port });
      expect(msg.length).toBeLessThanOrEqual(STUN_HEADER + 20);
      expect(responder.answered).toBe(1);
      expect(responder.ignored).toBe(1);
    } finally {
      client.close();
      await responder.close();
    }
  });

  it('token buckets per source: a burst, then the rate; the table stays bounded, the stalest source going (pure)', () => {
    const b = new SourceBuckets({ perSecond: 2, burst: 3, maxSources: 2 });
    expect([1, 2, 3, 4].map(() => b.take('a', 0))).toEqual([true, true, true, false]);
    expect(b.take('b', 0)).toBe(true); // another source has its own bucket
    expect(b.take('a', 499)).toBe(false);
    expect(b.take('a', 500)).toBe(true); // one token back after half a second at 2/s
    b.take('c', 500); // the table is full: 'b', not heard from longest, goes
    expect(b.size).toBe(2);
    expect(b.take('a', 500)).toBe(false); // 'a' kept its empty bucket
  });

  it('answers a flood from one address up to its burst, and another address still gets its answer', async () => {
    const responder = new StunResponder('127.0.0.1', { perSecond: 1, burst: 5, maxSources: 16 });
    const port = await responder.listen(0, '127.0.0.1');
    const flood = dgram.createSocket('udp4');
    const other = dgram.createSocket('udp4');
    try {
      await new Promise<void>((r) => flood.bind(0, '127.0.0.1', r));
      await new Promise<void>((r) => other.bind(0, '127.0.0.2', r));
      for (let i = 0; i < 50; i++) flood.send(encodeBindingRequest(randomBytes(12)), port, '127.0.0.1');
      await until(() => responder.answered + responder.limited === 50, 5_000, 'the flood handled');
      expect(responder.answered).toBeLessThanOrEqual(6); // the burst, and a token refilled meanwhile at most
      const tid = randomBytes(12);
      other.send(encodeBindingRequest(tid), port, '127.0.0.1');
      const [msg] = (await once(other, 'message')) as [Buffer];
      expect(decodeBindingResponse(msg, tid)).toEqual({ address: '127.0.0.2', port: other.address().port });
    } finally {
      flood.close();
      other.close();
      await responder.close();
    }
  });

  it('reports a taken UDP port with E_PORT_TAKEN', async () => {
    const a = new StunResponder('127.0.0.1');
    const port = await a.listen(0, '127.0.0.1');
    const b = new StunResponder('127.0.0.1');
    try {
      await expect(b.listen(port, '127.0.0.1')).rejects.toMatchObject({ code: 'E_PORT_TAKEN' });
    } finally {
      await Promise.all([a.close(), b.close()]);
    }
  });
});
