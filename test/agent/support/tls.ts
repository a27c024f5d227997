// A throwaway PKI for the agent tests, made with the openssl CLI in a temp directory (node:crypto cannot
// issue X.509 certificates): a CA, a server certificate for 127.0.0.1 / ::1 / localhost, and a client
// certificate for mTLS. Files are PEM; `dir` is removed by cleanup().

import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

export interface TestPki {
  dir: string;
  caFile: string;
  ca: Buffer;
  serverCertFile: string;
  serverKeyFile: string;
  serverCert: Buffer;
  serverKey: Buffer;
  clientCertFile: string;
  clientKeyFile: string;
  clientCert: Buffer;
  clientKey: Buffer;
  cleanup(): Promise<void>;
}

async function openssl(args: string[], cwd: string): Promise<void> {
  await run('openssl', args, { cwd });
}

export async function makeTestPki(name = 'trimtab-test'): Promise<TestPki> {
  const dir = await mkdtemp(join(tmpdir(), 'trimtab-pki-'));
  await openssl(['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-keyout', 'ca.key', '-out', 'ca.pem', '-days', '2', '-subj', `/CN=${name} CA`], dir);
  await writeFile(join(dir, 'server.ext'), 'subjectAltName=IP:127.0.0.1,IP:::1,DNS:localhost\nextendedKeyUsage=serverAuth\n');
  await writeFile(join(dir, 'client.ext'), 'extendedKeyUsage=clientAuth\n');
  for (const who of ['server', 'client']) {
    await openssl(['req', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-keyout', `${who}.key`, '-out', `${who}.csr`, '-subj', `/CN=${name} ${who}`], dir);
    await openssl(['x509', '-req', '-in', `${who}.csr`, '-CA', 'ca.pem', '-CAkey', 'ca.key', '-CAcreateserial', '-out', `${who}.pem`, '-days', '2', '-extfile', `${who}.ext`], dir);
  }
  const f = (n: string) => join(dir, n);
  return {
    dir,
    caFile: f('ca.pem'),
    ca: await readFile(f('ca.pem')),
    serverCertFile: f('server.pem'),
    serverKeyFile: f('server.key'),
    serverCert: await readFile(f('server.pem')),
    serverKey: await readFile(f('server.key')),
    clientCertFile: f('client.pem'),
    clientKeyFile: f('client.key'),
    clientCert: await readFile(f('client.pem')),
    clientKey: await readFile(f('client.key')),
    cleanup: () => rm(dir, { recursive: true, force: true }),
  };
}
