// A stand-in for kube-apiserver, which cannot run on these machines: a small HTTP server implementing
// exactly the coordination.k8s.io/v1 Lease endpoints the Kubernetes lock uses, with the API server's
// optimistic concurrency:
//   GET  /apis/coordination.k8s.io/v1/namespaces/{ns}/leases/{name}   200, or 404 NotFound
//   POST /apis/coordination.k8s.io/v1/namespaces/{ns}/leases          201, or 409 AlreadyExists
//   PUT  /apis/coordination.k8s.io/v1/namespaces/{ns}/leases/{name}   200; 409 Conflict when
//        metadata.resourceVersion is not the stored one; 404 when the Lease does not exist
// resourceVersion is one counter for the whole store, as etcd's revision is. Errors are metav1.Status
// bodies. MicroTime fields must have exactly six fractional digits (what the API server emits), so a
// client sending another format is caught here. Everything else answers 404 or 405.

import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { randomUUID } from 'node:crypto';

interface StoredLease {
  apiVersion: 'coordination.k8s.io/v1';
  kind: 'Lease';
  metadata: Record<string, unknown> & { name: string; namespace: string; resourceVersion: string };
  spec: Record<string, unknown>;
}

export interface LeaseServerStats {
  gets: number;
  creates: number;
  updates: number;
  /** 409 answers (AlreadyExists on create, Conflict on update). */
  conflicts: number;
  notFound: number;
}

export interface LeaseServer {
  url: string;
  port: number;
  stats: LeaseServerStats;
  /** Every accepted create or update, in order: what each writer stored. */
  writes: Array<{ namespace: string; name: string; spec: StoredLease['spec'] }>;
  /** The stored Lease (a copy), or undefined. */
  lease(namespace: string, name: string): StoredLease | undefined;
  /** Changes a stored Lease as another client would (bumps resourceVersion). */
  mutate(namespace: string, name: string, fn: (lease: StoredLease) => void): void;
  close(): Promise<void>;
}

const PATH = /^\/apis\/coordination\.k8s\.io\/v1\/namespaces\/([a-z0-9-]+)\/leases(?:\/([a-z0-9.-]+))?\/?$/;
const MICRO_TIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{6}Z$/;

function status(res: ServerResponse, code: number, reason: string, message: string): void {
  res.writeHead(code, { 'content-type': 'application/json' });
  res.end(JSON.stringify({ kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', message, reason, code }));
}

function send(res: ServerResponse, code: number, body: unknown): void {
  res.writeHead(code, { 'content-type': 'application/json' });
  res.end(JSON.stringify(body));
}

async function readJson(req: IncomingMessage): Promise<unknown> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return JSON.parse(Buffer.concat(chunks).toString('utf8'));
}

/** What the API server's validation would refuse (a subset: the fields the lock writes). */
function invalid(spec: Record<string, unknown>): string | null {
  for (const field of ['acquireTime', 'renewTime']) {
    const v = spec[field];
    if (v !== undefined && v !== null && (typeof v !== 'string' || !MICRO_TIME.test(v))) return `spec.${field}: "${String(v)}" is not a MicroTime`;
  }
  const d = spec.leaseDurationSeconds;
  if (d !== undefined && (!Number.isInteger(d) || (d as number) <= 0)) return 'spec.leaseDurationSeconds: must be greater than 0';
  const t = spec.leaseTransitions;
  if (t !== undefined && (!Number.isInteger(t) || (t as number) < 0)) return 'spec.leaseTransitions: must be greater than or equal to 0';
  return null;
}

export async function startLeaseServer(): Promise<LeaseServer> {
  const store = new Map<string, StoredLease>();
  let revision = 100;
  const stats: LeaseServerStats = { gets: 0, creates: 0, updates: 0, conflicts: 0, notFound: 0 };
  const writes: LeaseServer['writes'] = [];
  const key = (ns: string, name: string) => `${ns}/${name}`;
  const nextVersion = () => String(++revision);

  const handle = async (req: IncomingMessage, res: ServerResponse) => {
    const url = new URL(req.url ?? '/', 'http://localhost');
    const m = PATH.exec(url.pathname);
    if (!m) return status(res, 404, 'NotFound', `the server could not find the requested resource`);
    const [, namespace, name] = m;
    if (req.method === 'GET' && name) {
      stats.gets++;
      const lease = store.get(key(namespace, name));
      if (!lease) {
        stats.notFound++;
        return status(res, 404, 'NotFound', `leases.coordination.k8s.io "${name}" not found`);
      }
      return send(res, 200, lease);
    }
    if (req.method === 'POST' && !name) {
      stats.creates++;
      const body = (await readJson(req)) as Partial<StoredLease>;
      const leaseName = body.metadata?.name;
      if (typeof leaseName !== 'string' || !leaseName) return status(res, 422, 'Invalid', 'metadata.name: Required value');
      if (body.metadata?.namespace && body.metadata.namespace !== namespace) return status(res, 400, 'BadRequest', 'the namespace of the object does not match the namespace on the request');
      const problem = invalid(body.spec ?? {});
      if (problem) return status(res, 422, 'Invalid', problem);
      if (store.has(key(namespace, leaseName))) {
        stats.conflicts++;
        return status(res, 409, 'AlreadyExists', `leases.coordination.k8s.io "${leaseName}" already exists`);
      }
      const lease: StoredLease = {
        apiVersion: 'coordination.k8s.io/v1',
        kind: 'Lease',
        metadata: { ...(body.metadata ?? {}), name: leaseName, namespace, uid: randomUUID(), creationTimestamp: new Date().toISOString().replace(/\.\d+Z$/, 'Z'), resourceVersion: nextVersion() },
        spec: { ...(body.spec ?? {}) },
      };
      store.set(key(namespace, leaseName), lease);
      writes.push({ namespace, name: leaseName, spec: structuredClone(lease.spec) });
      return send(res, 201, lease);
    }
    if (req.method === 'PUT' && name) {
      stats.updates++;
      const body = (await readJson(req)) as Partial<StoredLease>;
      const existing = store.get(key(namespace, name));
      if (!existing) {
        stats.notFound++;
        return status(res, 404, 'NotFound', `leases.coordination.k8s.io "${name}" not found`);
      }
      if (body.metadata?.name !== name) return status(res, 400, 'BadRequest', 'the name of the object does not match the name on the URL');
      const problem = invalid(body.spec ?? {});
      if (problem) return status(res, 422, 'Invalid', problem);
      const sent = body.metadata?.resourceVersion;
      // Leases allow unconditional updates (no resourceVersion); the lock always sends one.
      if (sent !== undefined && sent !== existing.metadata.resourceVersion) {
        stats.conflicts++;
        return status(res, 409, 'Conflict', `Operation cannot be fulfilled on leases.coordination.k8s.io "${name}": the object has been modified; please apply your changes to the latest version and try again`);
      }
      const lease: StoredLease = {
        apiVersion: 'coordination.k8s.io/v1',
        kind: 'Lease',
        metadata: { ...(body.metadata ?? {}), name, namespace, uid: existing.metadata.uid, creationTimestamp: existing.metadata.creationTimestamp, resourceVersion: nextVersion() },
        spec: { ...(body.spec ?? {}) },
      };
      store.set(key(namespace, name), lease);
      writes.push({ namespace, name, spec: structuredClone(lease.spec) });
      return send(res, 200, lease);
    }
    return status(res, 405, 'MethodNotAllowed', `${req.method} is not supported on this path`);
  };

  const server: Server = createServer((req, res) => {
    handle(req, res).catch((error: unknown) => {
      if (!res.headersSent) status(res, 400, 'BadRequest', error instanceof Error ? error.message : String(error));
      else res.destroy();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as { port: number }).port;
  return {
    url: `http://127.0.0.1:${port}`,
    port,
    stats,
    writes,
    lease: (ns, name) => {
      const l = store.get(key(ns, name));
      return l ? (JSON.parse(JSON.stringify(l)) as StoredLease) : undefined;
    },
    mutate(ns, name, fn) {
      const l = store.get(key(ns, name));
      if (!l) throw new Error(`no lease ${ns}/${name}`);
      fn(l);
      l.metadata.resourceVersion = nextVersion();
    },
    async close() {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
