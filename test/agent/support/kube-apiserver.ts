// A test Kubernetes API server on 127.0.0.1. It stands in for kube-apiserver, which cannot run here (no
// etcd, no container runtime): it implements exactly the part of the API the agent uses, with the
// semantics the agent relies on —
//   - HTTPS with a test CA, and bearer-token authentication (401 otherwise);
//   - GET /api/v1/pods?fieldSelector=spec.nodeName=N and /api/v1/nodes?fieldSelector=metadata.name=N:
//     lists with metadata.resourceVersion, paged with limit/continue;
//   - the same with watch=1: events after resourceVersion as newline-delimited JSON (ADDED, MODIFIED,
//     DELETED; an object that stops matching the field selector is DELETED, one that starts matching is
//     ADDED, as the watch cache does), BOOKMARK events when allowWatchBookmarks=true, closed after
//     timeoutSeconds; a resourceVersion older than the compacted history gets an ERROR event with a 410
//     Status, as kube-apiserver sends;
//   - GET /apis/apps/v1/namespaces/NS/replicasets/NAME and /apis/batch/v1/namespaces/NS/jobs/NAME, 404
//     with a Status body when absent.
// Every request is recorded (path, time) so that tests can check rate limits and caching.

import type { IncomingMessage, ServerResponse } from 'node:http';
import { createServer } from 'node:https';
import type { Node, OwnedObject, Pod } from '../../../agent/ksm.ts';

type Kind = 'pods' | 'nodes' | 'replicasets' | 'jobs';
type AnyObject = (Pod | Node | OwnedObject) & { kind?: string; apiVersion?: string };

interface Event {
  rv: number;
  kind: Kind;
  type: 'ADDED' | 'MODIFIED' | 'DELETED';
  object: AnyObject;
  previous: AnyObject | null;
}

export interface TestApiServer {
  url: string;
  token: string;
  requests: Array<{ at: number; method: string; path: string; status: number }>;
  /** Current resourceVersion. */
  readonly resourceVersion: number;
  /** Creates or replaces an object (ADDED or MODIFIED). */
  apply(kind: Kind, object: AnyObject): void;
  remove(kind: Kind, namespace: string | undefined, name: string): void;
  /** Forgets the event history up to now: a watch resuming from any version up to now gets 410 Gone. */
  compact(): void;
  /** Ends every open watch (the server-side timeout, early). */
  closeWatches(): void;
  /** Open watch streams. */
  readonly watchers: number;
  close(): Promise<void>;
}

const key = (o: AnyObject) => `${o.metadata.namespace ?? ''}/${o.metadata.name}`;

function matches(kind: Kind, o: AnyObject | null, selector: Map<string, string>): boolean {
  if (!o) return false;
  for (const [field, value] of selector) {
    let actual: string | undefined;
    if (field === 'spec.nodeName' && kind === 'pods') actual = (o as Pod).spec?.nodeName;
    else if (field === 'metadata.name') actual = o.metadata.name;
    else if (field === 'metadata.namespace') actual = o.metadata.namespace;
    else return false;
    if ((actual ?? '') !== value) return false;
  }
  return true;
}

function parseFieldSelector(s: string | null): Map<string, string> | null {
  const m = new Map<string, string>();
  if (!s) return m;
  for (const part of s.split(',')) {
    const eq = part.indexOf('=');
    if (eq <= 0) return null;
    const name = part.slice(0, eq).replace(/=$/, '');
    m.set(name, part.slice(eq + 1).replace(/^=/, ''));
  }
  return m;
}

function status(res: ServerResponse, code: number, reason: string, message: string): void {
  res.writeHead(code, { 'Content-Type': 'application/json' }).end(JSON.stringify({ kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', message, reason, code }));
}

export async function startTestApiServer(tls: { cert: Buffer; key: Buffer }, options: { token?: string; bookmarkEveryMs?: number } = {}): Promise<TestApiServer> {
  const token = options.token ?? 'test-token-' + Math.random().toString(36).slice(2);
  const store: Record<Kind, Map<string, AnyObject>> = { pods: new Map(), nodes: new Map(), replicasets: new Map(), jobs: new Map() };
  const events: Event[] = [];
  let rv = 100;
  let compactedAt = 0;
  const requests: TestApiServer['requests'] = [];
  const streams = new Set<{ kind: Kind; selector: Map<string, string>; res: ServerResponse; sent: number; bookmarks: boolean }>();

  const stamp = (o: AnyObject): AnyObject => ({ ...o, metadata: { ...o.metadata, resourceVersion: String(rv) } });

  const deliver = (e: Event) => {
    for (const s of streams) {
      if (s.kind !== e.kind || e.rv <= s.sent) continue;
      const was = matches(e.kind, e.previous, s.selector);
      const is = e.type !== 'DELETED' && matches(e.kind, e.object, s.selector);
      let type: Event['type'] | null = null;
      if (e.type === 'DELETED') type = was ? 'DELETED' : null;
      else if (was && is) type = 'MODIFIED';
      else if (!was && is) type = 'ADDED';
      else if (was && !is) type = 'DELETED';
      s.sent = e.rv;
      if (type) s.res.write(JSON.stringify({ type, object: e.object }) + '\n');
    }
  };

  const handle = (req: IncomingMessage, res: ServerResponse) => {
    const url = new URL(req.url ?? '/', 'https://127.0.0.1');
    const rec = { at: performance.now(), method: req.method ?? 'GET', path: url.pathname + url.search, status: 200 };
    requests.push(rec);
    res.on('finish', () => (rec.status = res.statusCode));
    if (req.headers.authorization !== `Bearer ${token}`) return status(res, 401, 'Unauthorized', 'Unauthorized');
    if (req.method !== 'GET') return status(res, 405, 'MethodNotAllowed', 'the test API server only serves GET');

    const single = /^\/apis\/(apps|batch)\/v1\/namespaces\/([^/]+)\/(replicasets|jobs)\/([^/]+)$/.exec(url.pathname);
    if (single) {
      const kind = single[3] as Kind;
      const o = store[kind].get(`${decodeURIComponent(single[2])}/${decodeURIComponent(single[4])}`);
      if (!o) return status(res, 404, 'NotFound', `${kind}.${single[1]} "${decodeURIComponent(single[4])}" not found`);
      res.writeHead(200, { 'Content-Type': 'application/json' }).end(JSON.stringify(o));
      return;
    }
    const kind: Kind | null = url.pathname === '/api/v1/pods' ? 'pods' : url.pathname === '/api/v1/nodes' ? 'nodes' : null;
    if (!kind) return status(res, 404, 'NotFound', `the server could not find the requested resource ${url.pathname}`);
    const selector = parseFieldSelector(url.searchParams.get('fieldSelector'));
    if (!selector) return status(res, 400, 'BadRequest', 'invalid field selector');

    if (url.searchParams.get('watch') === '1' || url.searchParams.get('watch') === 'true') {
      const from = Number(url.searchParams.get('resourceVersion') ?? '0');
      res.writeHead(200, { 'Content-Type': 'application/json', 'Transfer-Encoding': 'chunked' });
      if (from > 0 && from < compactedAt) {
        res.end(JSON.stringify({ type: 'ERROR', object: { kind: 'Status', apiVersion: 'v1', status: 'Failure', message: `too old resource version: ${from} (${compactedAt})`, reason: 'Expired', code: 410 } }) + '\n');
        return;
      }
      const s = { kind, selector, res, sent: from, bookmarks: url.searchParams.get('allowWatchBookmarks') === 'true' };
      streams.add(s);
      for (const e of events) if (e.rv > from) deliver(e);
      s.sent = Math.max(s.sent, rv);
      const timeout = Number(url.searchParams.get('timeoutSeconds') ?? '1800') * 1000;
      const bm = s.bookmarks
        ? setInterval(() => res.write(JSON.stringify({ type: 'BOOKMARK', object: { kind: kind === 'pods' ? 'Pod' : 'Node', apiVersion: 'v1', metadata: { resourceVersion: String(rv) } } }) + '\n'), options.bookmarkEveryMs ?? 1000)
        : null;
      const end = () => {
        streams.delete(s);
        if (bm) clearInterval(bm);
        clearTimeout(t);
        if (!res.writableEnded) res.end();
      };
      const t = setTimeout(end, timeout);
      req.on('close', end);
      (s as unknown as { end: () => void }).end = end;
      return;
    }

    const all = [...store[kind].values()].filter((o) => matches(kind, o, selector)).sort((a, b) => key(a).localeCompare(key(b)));
    const limit = Number(url.searchParams.get('limit') ?? '0');
    const start = Number(url.searchParams.get('continue') ?? '0');
    const page = limit > 0 ? all.slice(start, start + limit) : all;
    const next = limit > 0 && start + limit < all.length ? String(start + limit) : undefined;
    res.writeHead(200, { 'Content-Type': 'application/json' }).end(
      JSON.stringify({ kind: kind === 'pods' ? 'PodList' : 'NodeList', apiVersion: 'v1', metadata: { resourceVersion: String(rv), ...(next ? { continue: next } : {}) }, items: page }),
    );
  };

  const server = createServer({ cert: tls.cert, key: tls.key }, handle);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as { port: number }).port;

  return {
    url: `https://127.0.0.1:${port}`,
    token,
    requests,
    get resourceVersion() {
      return rv;
    },
    get watchers() {
      return streams.size;
    },
    apply(kind, object) {
      rv++;
      const previous = store[kind].get(key(object)) ?? null;
      const o = stamp(object);
      store[kind].set(key(o), o);
      const e: Event = { rv, kind, type: previous ? 'MODIFIED' : 'ADDED', object: o, previous };
      events.push(e);
      deliver(e);
    },
    remove(kind, namespace, name) {
      const k = `${namespace ?? ''}/${name}`;
      const previous = store[kind].get(k);
      if (!previous) return;
      rv++;
      store[kind].delete(k);
      const e: Event = { rv, kind, type: 'DELETED', object: stamp(previous), previous };
      events.push(e);
      deliver(e);
    },
    compact() {
      compactedAt = rv + 1;
      events.length = 0;
    },
    closeWatches() {
      for (const s of [...streams]) (s as unknown as { end: () => void }).end();
    },
    async close() {
      for (const s of [...streams]) (s as unknown as { end: () => void }).end();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
