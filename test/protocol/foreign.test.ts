import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { foreignProtocol } from '../../src/protocol/foreign.js';
import { encodeFrame, DEFAULT_MAX_FRAME_SIZE } from '../../src/protocol/frame.js';

describe('foreignProtocol', () => {
  it('names HTTP, SSH and TLS from their first bytes', () => {
    expect(foreignProtocol(Buffer.from('HTTP/1.1 400 Bad Request\r\n'))).toBe('HTTP');
    expect(foreignProtocol(Buffer.from('SSH-2.0-OpenSSH_9.6\r\n'))).toBe('SSH');
    expect(foreignProtocol(Buffer.from([0x15, 0x03, 0x03, 0x00, 0x02, 0x02, 0x46]))).toBe('TLS');
    expect(foreignProtocol(Buffer.from([0x16, 0x03, 0x01, 0x00, 0x7a]))).toBe('TLS');
  });

  it('never mistakes a p2prc frame for another protocol', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 255 }),
        fc.uint8Array({ maxLength: DEFAULT_MAX_FRAME_SIZE - 1 }),
        (type, payload) => {
          expect(foreignProtocol(encodeFrame(type, Buffer.from(payload)))).toBeUndefined();
        },
      ),
      { numRuns: 200 },
    );
  });
});
