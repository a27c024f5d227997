// Tokens are secrets: whatever happens to a request (accepted, refused, failing on a dead database), the
// receiver's logs must never contain the token that came with it.

import { describe, expect, it } from 'vitest';
import { createLogger } from '../lib/log.ts';
import { startTestReceiver } from './support/receiver.ts';
import { encodeBody, postWrite } from './support/write-client.ts';

describe('logs and tokens', () => {
  it('never logs a token, on success, refusal or database failure', async () => {
    const lines: string[] = [];
    const r = await startTestReceiver('pg', { viaProxy: true, logger: createLogger({ level: 'debug', write: (l) => lines.push(l) }) });
    try {
      const token = r.tenants.alpha.token;
      const wrong = 'tt_this-token-does-not-exist-0123456789';
      const t = Date.now() - 1000;
      const good = encodeBody({ series: [{ labels: [{ name: '__name__', value: 'm' }], samples: [{ value: 1, timestamp: t }] }] }, 1);
      const bad = encodeBody({ series: [{ labels: [{ name: 'no', value: 'name' }], samples: [{ value: 1, timestamp: t }] }] }, 1);
      const basic = `Basic ${Buffer.from(`u:${token}`).toString('base64')}`;
      expect((await postWrite(r.url, good, { token })).status).toBe(204);
      expect((await postWrite(r.url, bad, { token })).status).toBe(400);
      expect((await postWrite(r.url, good, { token: wrong })).status).toBe(401);
      expect((await postWrite(r.url, good, { headers: { Authorization: basic } })).status).toBe(204);
      expect((await postWrite(r.url, good, { token, headers: { 'Content-Type': 'text/plain' } })).status).toBe(415);
      r.proxy!.cut();
      // A token the cache has not seen must go to the database, which is down: 503, logged as an error.
      expect((await postWrite(r.url, good, { token: `${wrong}-2` })).status).toBe(503);
      r.proxy!.restore();
      expect(lines.length).toBeGreaterThan(3);
      const all = lines.join('\n');
      for (const secret of [token, wrong, `${wrong}-2`, Buffer.from(`u:${token}`).toString('base64')]) expect(all).not.toContain(secret);
    } finally {
      await r.stop();
    }
  });
});
