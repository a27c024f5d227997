// HTTP(S) client plumbing shared by the scraper, the sender and the Kubernetes client: TLS with a custom
// CA and client certificates (mTLS), bearer tokens and passwords read from files and re-read when the
// file changes (Kubernetes rotates projected service-account tokens and mounted secrets by swapping a
// symlink, so the file is stat()ed, not watched), basic auth, timeouts, and bounded response bodies.
// Secrets are never logged; errors name the file, not its content.

import type http from 'node:http';
import https from 'node:https';
import { createGunzip } from 'node:zlib';
import type { Readable } from 'node:stream';
import { TrimtabError } from '../protocol/errors.ts';
import { readFile, stat } from './fs.ts';

// node:http is taken with process.getBuiltinModule, not `import`: an ES module import of a builtin reads
// every export, and node:http's lazy WebSocket / CloseEvent / MessageEvent getters then load Node's
// bundled undici (fetch) — measured +13 MiB of RSS in the agent process, for nothing it uses.
const { Agent: HttpAgent, request: httpRequest } = process.getBuiltinModule('node:http');

export class AgentHttpError extends TrimtabError {}

/** How often a secret or certificate file is stat()ed for changes, at most. */
const RECHECK_MS = 1000;

/** A file whose content is re-read when it changes (mtime, inode or size). */
export class WatchedFile {
  readonly path: string;
  private readonly what: string;
  private content: Buffer | null = null;
  private signature = '';
  private checkedAt = 0;
  private pending: Promise<Buffer> | null = null;

  constructor(path: string, what: string) {
    this.path = path;
    this.what = what;
  }

  /** The current content; re-read when the file changed since the last look (checked at most once a second). */
  async get(): Promise<Buffer> {
    if (this.content && Date.now() - this.checkedAt < RECHECK_MS) return this.content;
    this.pending ??= this.refresh().finally(() => (this.pending = null));
    return this.pending;
  }

  /** True when the content changed since the last call (reads the file if needed). */
  async changed(): Promise<boolean> {
    const before = this.signature;
    await this.get();
    return before !== '' && before !== this.signature;
  }

  private async refresh(): Promise<Buffer> {
    try {
      const s = await stat(this.path);
      const sig = `${s.ino}:${s.mtimeMs}:${s.size}`;
      this.checkedAt = Date.now();
      if (this.content && sig === this.signature) return this.content;
      const content = await readFile(this.path);
      this.content = content;
      this.signature = sig;
      return content;
    } catch (cause) {
      if (this.content) return this.content; // keep the last good content through a rotation hiccup
      throw new AgentHttpError('unreadable_file', `cannot read the ${this.what} file ${this.path}: ${(cause as NodeJS.ErrnoException).code ?? (cause as Error).message}`, { cause });
    }
  }
}

export interface TlsOptions {
  caFile?: string;
  certFile?: string;
  keyFile?: string;
  serverName?: string;
  insecureSkipVerify?: boolean;
}

export interface AuthOptions {
  bearerTokenFile?: string;
  /** Basic auth; the password is read from a file (never a flag: flags show in `ps`). */
  basicAuth?: { username: string; passwordFile: string };
  /** A fixed Authorization header value (tests, in-memory tokens from a kubeconfig). */
  authorization?: () => Promise<string | undefined>;
}

export interface EndpointOptions {
  tls?: TlsOptions;
  auth?: AuthOptions;
  /** Concurrent connections (the sender uses one per shard). */
  maxSockets?: number;
  /** Extra HTTPS options applied as given (client-node kubeconfig auth: ca, cert, key, …). */
  httpsOptions?: https.AgentOptions;
  userAgent?: string;
}

/**
 * One remote base URL with its TLS and authentication. The connection agent is rebuilt when a TLS file
 * changes (rotated certificates), and the Authorization header is computed per request.
 */
export class Endpoint {
  readonly url: URL;
  private readonly options: EndpointOptions;
  private readonly tlsFiles: Array<[keyof TlsOptions, WatchedFile]> = [];
  private readonly token: WatchedFile | null;
  private readonly password: WatchedFile | null;
  private agent: http.Agent | null = null;
  private agentCheckedAt = 0;

  constructor(url: string | URL, options: EndpointOptions = {}) {
    this.url = typeof url === 'string' ? new URL(url) : url;
    this.options = options;
    const tls = options.tls ?? {};
    if (tls.caFile) this.tlsFiles.push(['caFile', new WatchedFile(tls.caFile, 'TLS CA')]);
    if (tls.certFile) this.tlsFiles.push(['certFile', new WatchedFile(tls.certFile, 'TLS client certificate')]);
    if (tls.keyFile) this.tlsFiles.push(['keyFile', new WatchedFile(tls.keyFile, 'TLS client key')]);
    this.token = options.auth?.bearerTokenFile ? new WatchedFile(options.auth.bearerTokenFile, 'bearer token') : null;
    this.password = options.auth?.basicAuth ? new WatchedFile(options.auth.basicAuth.passwordFile, 'basic auth password') : null;
  }

  get isHttps(): boolean {
    return this.url.protocol === 'https:';
  }

  /** Reads every configured file once, so that a missing file fails at start with a clear error. */
  async check(): Promise<void> {
    await this.connectionAgent();
    await this.authorization();
  }

  async authorization(): Promise<string | undefined> {
    if (this.token) {
      const t = (await this.token.get()).toString('utf8').trim();
      if (t === '') throw new AgentHttpError('empty_token', `the bearer token file ${this.token.path} is empty`);
      return `Bearer ${t}`;
    }
    if (this.password && this.options.auth?.basicAuth) {
      const p = (await this.password.get()).toString('utf8').replace(/\r?\n$/, '');
      return `Basic ${Buffer.from(`${this.options.auth.basicAuth.username}:${p}`).toString('base64')}`;
    }
    if (this.options.auth?.authorization) return this.options.auth.authorization();
    return undefined;
  }

  async connectionAgent(): Promise<http.Agent> {
    if (this.agent && (this.tlsFiles.length === 0 || Date.now() - this.agentCheckedAt < RECHECK_MS)) return this.agent;
    let changed = this.agent === null;
    const files: Partial<Record<keyof TlsOptions, Buffer>> = {};
    for (const [key, file] of this.tlsFiles) {
      if (await file.changed()) changed = true;
      files[key] = await file.get();
    }
    this.agentCheckedAt = Date.now();
    if (!changed && this.agent) return this.agent;
    const old = this.agent;
    const common = { keepAlive: true, maxSockets: this.options.maxSockets ?? 4, maxFreeSockets: this.options.maxSockets ?? 4, timeout: 60_000 };
    if (this.isHttps) {
      const tls = this.options.tls ?? {};
      this.agent = new https.Agent({
        ...common,
        ca: files.caFile,
        cert: files.certFile,
        key: files.keyFile,
        servername: tls.serverName,
        rejectUnauthorized: tls.insecureSkipVerify !== true,
        ...this.options.httpsOptions,
      });
    } else {
      this.agent = new HttpAgent(common);
    }
    // Let requests on the old agent finish; its idle sockets are closed.
    if (old) setTimeout(() => old.destroy(), 120_000).unref();
    return this.agent;
  }

  destroy(): void {
    this.agent?.destroy();
    this.agent = null;
  }

  resolve(path?: string): URL {
    return path === undefined ? this.url : new URL(path, this.url);
  }
}

export interface RequestOptions {
  method?: string;
  /** Path and query relative to the endpoint URL; the endpoint URL itself when absent. */
  path?: string;
  headers?: Record<string, string>;
  body?: Uint8Array;
  /** Whole-request timeout (connect, send, headers, and for request() the body). */
  timeoutMs: number;
  signal?: AbortSignal;
}

export interface HttpResponse {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: Buffer;
  /** True when the body was cut at maxBodyBytes. */
  truncated: boolean;
}

/** Starts a request and resolves with the response stream (gunzipped when the server compressed it). */
export async function openStream(endpoint: Endpoint, options: RequestOptions): Promise<{ status: number; headers: http.IncomingHttpHeaders; stream: Readable; abort: () => void }> {
  const url = endpoint.resolve(options.path);
  const agent = await endpoint.connectionAgent();
  const headers: Record<string, string> = { ...options.headers };
  const auth = await endpoint.authorization();
  if (auth) headers.Authorization = auth;
  if (options.body) headers['Content-Length'] = String(options.body.byteLength);
  const send = url.protocol === 'https:' ? https.request : httpRequest;
  return new Promise((resolve, reject) => {
    let settled = false;
    const req = send(url, { method: options.method ?? 'GET', headers, agent }, (res) => {
      let stream: Readable = res;
      const encoding = String(res.headers['content-encoding'] ?? '').toLowerCase();
      if (encoding === 'gzip') {
        const gunzip = createGunzip();
        res.on('error', (e) => gunzip.destroy(e));
        stream = res.pipe(gunzip);
      }
      settled = true;
      resolve({ status: res.statusCode ?? 0, headers: res.headers, stream, abort: () => req.destroy() });
    });
    const timer = setTimeout(() => req.destroy(new AgentHttpError('timeout', `${options.method ?? 'GET'} ${url.origin}${url.pathname} timed out after ${options.timeoutMs} ms`)), options.timeoutMs);
    timer.unref();
    req.on('close', () => clearTimeout(timer));
    const onAbort = () => req.destroy(new AgentHttpError('aborted', 'request aborted'));
    options.signal?.addEventListener('abort', onAbort, { once: true });
    req.on('close', () => options.signal?.removeEventListener('abort', onAbort));
    req.on('error', (e) => {
      if (!settled) reject(e);
    });
    req.end(options.body);
  });
}

/** A request whose response body is read whole, up to `maxBodyBytes` (the rest is discarded). */
export async function request(endpoint: Endpoint, options: RequestOptions & { maxBodyBytes: number }): Promise<HttpResponse> {
  const deadline = Date.now() + options.timeoutMs;
  const { status, headers, stream, abort } = await openStream(endpoint, options);
  const chunks: Buffer[] = [];
  let size = 0;
  let truncated = false;
  const remaining = Math.max(1, deadline - Date.now());
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => {
      abort();
      reject(new AgentHttpError('timeout', `reading the response body timed out after ${options.timeoutMs} ms`));
    }, remaining);
    timer.unref();
    stream.on('data', (c: Buffer) => {
      if (size < options.maxBodyBytes) {
        const take = Math.min(c.length, options.maxBodyBytes - size);
        chunks.push(take === c.length ? c : c.subarray(0, take));
        size += take;
        if (take < c.length) truncated = true;
      } else truncated = true;
    });
    stream.on('end', () => (clearTimeout(timer), resolve()));
    stream.on('error', (e) => (clearTimeout(timer), reject(e)));
  });
  return { status, headers, body: Buffer.concat(chunks, size), truncated };
}
