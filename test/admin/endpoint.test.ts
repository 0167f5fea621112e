import { existsSync, statSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { startAdmin } from '../../src/admin/attach.js';
import { adminGet, findAdminEndpoints } from '../../src/admin/endpoint.js';
import type { AdminSource } from '../../src/admin/model.js';
import { useWorkspace } from '../helpers/workspace.js';

const { tempDir, defer } = useWorkspace();

const source: AdminSource = {
  role: 'client',
  clients: () => [],
  tunnels: () => [],
  stats: () => ({ pendingHandshakes: 0, dataPoolSize: 3, dataPoolMisses: 0 }),
};

describe('admin endpoint notes and the pinned HTTPS client', () => {
  it('leaves a private note while running, reachable over HTTPS with the pinned fingerprint, and removes it on close', async () => {
    const dir = tempDir('admin');
    const admin = await startAdmin({ source, token: 'tok', flags: { port: 0, tls: true }, configDir: dir });
    defer(() => admin.close());
    expect(admin.url).toMatch(/^https:\/\/127\.0\.0\.1:\d+\/$/);
    const note = path.join(dir, 'admin', `${process.pid}.json`);
    expect(statSync(note).mode & 0o777).toBe(0o600);
    const [e] = await findAdminEndpoints(dir, 'client');
    expect(e).toMatchObject({ role: 'client', url: admin.url, pid: process.pid, fingerprint: admin.fingerprint });
    expect(await findAdminEndpoints(dir, 'host')).toEqual([]);
    expect(await adminGet<{ dataPoolSize: number }>(e!, '/api/stats')).toMatchObject({
      role: 'client',
      dataPoolSize: 3,
    });
    // A different certificate is refused before the token is sent; a wrong token is E_AUTH.
    await expect(adminGet({ ...e!, fingerprint: 'AA'.repeat(32) }, '/api/stats')).rejects.toMatchObject({
      code: 'E_TLS',
    });
    await expect(adminGet({ ...e!, token: 'nope' }, '/api/stats')).rejects.toMatchObject({ code: 'E_AUTH' });
    await admin.close();
    expect(existsSync(note)).toBe(false);
  });
});
