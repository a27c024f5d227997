// TLS with a custom CA, mTLS client certificates, bearer tokens and basic-auth passwords from files
// (re-read when the file changes), against HTTPS servers on 127.0.0.1 using a test CA made with openssl.

import { mkdtemp, rename, rm, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeTestPki, type TestPki } from '../test/agent/support/tls.ts';
import { Endpoint, request, WatchedFile } from './http.ts';

let pki: TestPki;
let other: TestPki;
let dir: string;
let tlsServer: Server;
let mtlsServer: Server;
const seen: Array<{ authorization?: string; clientCN?: string }> = [];

function listen(s: Server): Promise<string> {
  return new Promise((resolve) => s.listen(0, '127.0.0.1', () => resolve(`https://127.0.0.1:${(s.address() as { port: number }).port}/api/v1/write`)));
}
let tlsUrl: string;
let mtlsUrl: string;

beforeAll(async () => {
  [pki, other] = await Promise.all([makeTestPki('trimtab'), makeTestPki('stranger')]);
  dir = await mkdtemp(join(tmpdir(), 'trimtab-auth-'));
  const handler = (req: import('node:http').IncomingMessage, res: import('node:http').ServerResponse) => {
    const cert = (req.socket as import('node:tls').TLSSocket).getPeerCertificate?.();
    seen.push({ authorization: req.headers.authorization, clientCN: cert && 'subject' in cert && cert.subject?.CN !== undefined ? String(cert.subject.CN) : undefined });
    req.resume();
    req.on('end', () => res.writeHead(204).end());
  };
  tlsServer = createServer({ cert: pki.serverCert, key: pki.serverKey }, handler);
  mtlsServer = createServer({ cert: pki.serverCert, key: pki.serverKey, ca: pki.ca, requestCert: true, rejectUnauthorized: true }, handler);
  tlsUrl = await listen(tlsServer);
  mtlsUrl = await listen(mtlsServer);
});

afterAll(async () => {
  tlsServer.closeAllConnections();
  mtlsServer.closeAllConnections();
  await Promise.all([new Promise((r) => tlsServer.close(r)), new Promise((r) => mtlsServer.close(r))]);
  await Promise.all([pki.cleanup(), other.cleanup(), rm(dir, { recursive: true, force: true })]);
});

const post = (e: Endpoint) => request(e, { method: 'POST', body: new Uint8Array([1, 2, 3]), timeoutMs: 5000, maxBodyBytes: 1024 });

describe('TLS', () => {
  it('verifies the server with a custom CA, and refuses a server its CA did not sign', async () => {
    expect((await post(new Endpoint(tlsUrl, { tls: { caFile: pki.caFile } }))).status).toBe(204);
    await expect(post(new Endpoint(tlsUrl, { tls: { caFile: other.caFile } }))).rejects.toThrowError(/certificate/i);
    await expect(post(new Endpoint(tlsUrl))).rejects.toThrowError(/certificate/i);
    expect((await post(new Endpoint(tlsUrl, { tls: { insecureSkipVerify: true } }))).status).toBe(204);
  });

  it('presents a client certificate for mTLS, and is refused without one', async () => {
    expect((await post(new Endpoint(mtlsUrl, { tls: { caFile: pki.caFile, certFile: pki.clientCertFile, keyFile: pki.clientKeyFile } }))).status).toBe(204);
    expect(seen.at(-1)?.clientCN).toBe('trimtab client');
    await expect(post(new Endpoint(mtlsUrl, { tls: { caFile: pki.caFile } }))).rejects.toThrow();
    await expect(post(new Endpoint(mtlsUrl, { tls: { caFile: pki.caFile, certFile: other.clientCertFile, keyFile: other.clientKeyFile } }))).rejects.toThrow();
  });

  it('picks up a rotated client certificate without a restart', async () => {
    const cert = join(dir, 'client.pem');
    const key = join(dir, 'client.key');
    await writeFile(cert, other.clientCert);
    await writeFile(key, other.clientKey);
    const e = new Endpoint(mtlsUrl, { tls: { caFile: pki.caFile, certFile: cert, keyFile: key } });
    await expect(post(e)).rejects.toThrow();
    // Kubernetes-style rotation: new files renamed into place.
    await writeFile(cert + '.new', pki.clientCert);
    await writeFile(key + '.new', pki.clientKey);
    await rename(cert + '.new', cert);
    await rename(key + '.new', key);
    await new Promise((r) => setTimeout(r, 1100));
    expect((await post(e)).status).toBe(204);
    e.destroy();
  });
});

describe('credentials from files', () => {
  it('sends the bearer token and re-reads the file when it changes', async () => {
    const file = join(dir, 'token');
    await writeFile(file, 'first-token\n');
    const e = new Endpoint(tlsUrl, { tls: { caFile: pki.caFile }, auth: { bearerTokenFile: file } });
    await post(e);
    expect(seen.at(-1)?.authorization).toBe('Bearer first-token');
    await writeFile(file + '.new', 'second-token');
    await rename(file + '.new', file);
    await new Promise((r) => setTimeout(r, 1100));
    await post(e);
    expect(seen.at(-1)?.authorization).toBe('Bearer second-token');
    e.destroy();
  });

  it('sends basic auth with the password from its file', async () => {
    const file = join(dir, 'password');
    await writeFile(file, 's3cret:with:colons\n');
    const e = new Endpoint(tlsUrl, { tls: { caFile: pki.caFile }, auth: { basicAuth: { username: 'agent', passwordFile: file } } });
    await post(e);
    expect(seen.at(-1)?.authorization).toBe(`Basic ${Buffer.from('agent:s3cret:with:colons').toString('base64')}`);
    e.destroy();
  });

  it('fails clearly (naming the file, not its content) when a file is missing or empty', async () => {
    await expect(new Endpoint(tlsUrl, { auth: { bearerTokenFile: join(dir, 'absent') } }).check()).rejects.toThrowError(/cannot read the bearer token file .*absent: ENOENT/);
    await writeFile(join(dir, 'empty'), '\n');
    await expect(new Endpoint(tlsUrl, { auth: { bearerTokenFile: join(dir, 'empty') } }).check()).rejects.toThrowError(/is empty/);
  });

  it('keeps the last good content while a rotated file is briefly missing', async () => {
    const file = join(dir, 'flaky');
    await writeFile(file, 'v1');
    const w = new WatchedFile(file, 'test');
    expect((await w.get()).toString()).toBe('v1');
    await rm(file);
    await new Promise((r) => setTimeout(r, 1100));
    expect((await w.get()).toString()).toBe('v1');
  });
});
