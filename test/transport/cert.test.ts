import { describe, expect, it } from 'vitest';
import tls from 'node:tls';
import { X509Certificate } from 'node:crypto';
import { generateSelfSignedCert, fingerprintOfPem, normalizeFingerprint } from '../../src/transport/cert.js';

describe('self-signed host certificates', () => {
  it('always produce DER that OpenSSL loads (300 in a row: a non-minimal serial once broke 1 in ~500)', () => {
    for (let i = 0; i < 300; i++) {
      const c = generateSelfSignedCert();
      expect(() => tls.createSecureContext({ key: c.keyPem, cert: c.certPem })).not.toThrow();
      expect(fingerprintOfPem(c.certPem)).toBe(c.fingerprint);
    }
    const cert = new X509Certificate(generateSelfSignedCert('p2prc-test').certPem);
    expect(cert.subject).toBe('CN=p2prc-test');
    expect(cert.verify(cert.publicKey)).toBe(true);
  });

  it('normalizes fingerprints in the usual spellings', () => {
    const fp = 'ab'.repeat(32);
    expect(normalizeFingerprint(fp)).toBe('AB:'.repeat(31) + 'AB');
    expect(normalizeFingerprint(fp.toUpperCase().match(/../g)!.join(':'))).toBe('AB:'.repeat(31) + 'AB');
    expect(normalizeFingerprint('xyz')).toBeNull();
  });
});
