// The Kubernetes lock backend: a coordination.k8s.io/v1 Lease through @kubernetes/client-node, as
// client-go's resourcelock.LeaseLock does it:
// - get: GET the Lease; 404 means "does not exist yet" (the elector then creates it);
// - create: POST; 409 (AlreadyExists: another candidate created it first) is a conflict;
// - update: PUT the Lease last read, with its metadata.resourceVersion, so the API server refuses it with
//   409 Conflict when anybody changed it meanwhile (optimistic concurrency); 404 (deleted) is a conflict too.
// Spec fields: holderIdentity, leaseDurationSeconds (whole seconds, at least 1; informational — electors
// use their own configured duration, as client-go does), acquireTime / renewTime (MicroTime:
// RFC 3339 with exactly six fractional digits), leaseTransitions. The fencing epoch, which the Lease type
// has no field for, is the annotation trimtab.dev/leader-epoch.

import { CoordinationV1Api, KubeConfig, V1MicroTime, type V1Lease } from '@kubernetes/client-node';
import { TrimtabError } from '../protocol/errors.ts';
import { LockConflictError, type LeaderElectionRecord, type LeaseLock, type VersionedRecord } from './leader-election.ts';

export const EPOCH_ANNOTATION = 'trimtab.dev/leader-epoch';

/** The subset of CoordinationV1Api (object-parameter style) this lock uses; tests may pass a fake. */
export interface LeaseApi {
  readNamespacedLease(param: { name: string; namespace: string }): Promise<V1Lease>;
  createNamespacedLease(param: { namespace: string; body: V1Lease }): Promise<V1Lease>;
  replaceNamespacedLease(param: { name: string; namespace: string; body: V1Lease }): Promise<V1Lease>;
}

export interface KubernetesLeaseLockOptions {
  api: LeaseApi;
  namespace: string;
  name: string;
}

/** HTTP status of a client-node error (ApiException.code), if any. */
export function httpStatusOf(error: unknown): number | undefined {
  if (error && typeof error === 'object' && 'code' in error) {
    const code = (error as { code: unknown }).code;
    if (typeof code === 'number' && code >= 100 && code < 600) return code;
  }
  return undefined;
}

/** MicroTime as the API server writes it: 2006-01-02T15:04:05.000000Z. */
export function formatMicroTime(ms: number): string {
  return new V1MicroTime(ms).toISOString();
}

function parseTime(value: unknown): number | null {
  if (value === undefined || value === null || value === '') return null;
  const ms = value instanceof Date ? value.getTime() : Date.parse(String(value));
  return Number.isFinite(ms) ? ms : null;
}

export function leaseToRecord(lease: V1Lease): LeaderElectionRecord {
  const spec = lease.spec ?? {};
  const epoch = Number(lease.metadata?.annotations?.[EPOCH_ANNOTATION] ?? 0);
  return {
    holderIdentity: spec.holderIdentity ?? '',
    leaseDurationMs: (spec.leaseDurationSeconds ?? 0) * 1000,
    acquireTimeMs: parseTime(spec.acquireTime),
    renewTimeMs: parseTime(spec.renewTime),
    leaseTransitions: spec.leaseTransitions ?? 0,
    epoch: Number.isSafeInteger(epoch) && epoch >= 0 ? epoch : 0,
  };
}

function applyRecord(base: V1Lease, record: LeaderElectionRecord, namespace: string, name: string): V1Lease {
  const metadata = { ...(base.metadata ?? {}), name, namespace };
  metadata.annotations = { ...(metadata.annotations ?? {}), [EPOCH_ANNOTATION]: String(record.epoch) };
  const spec = { ...(base.spec ?? {}) };
  // client-go sets holderIdentity to the empty string on release (the pointer is kept).
  spec.holderIdentity = record.holderIdentity;
  spec.leaseDurationSeconds = Math.max(1, Math.ceil(record.leaseDurationMs / 1000));
  spec.acquireTime = record.acquireTimeMs === null ? undefined : (new V1MicroTime(record.acquireTimeMs) as unknown as Date);
  spec.renewTime = record.renewTimeMs === null ? undefined : (new V1MicroTime(record.renewTimeMs) as unknown as Date);
  spec.leaseTransitions = record.leaseTransitions;
  return { apiVersion: 'coordination.k8s.io/v1', kind: 'Lease', metadata, spec };
}

export class KubernetesLeaseLock implements LeaseLock {
  readonly name: string;
  readonly namespace: string;
  readonly #api: LeaseApi;
  /** The Lease last read or written, to PUT back with its resourceVersion (client-go caches it too). */
  #cached: V1Lease | null = null;

  constructor(options: KubernetesLeaseLockOptions) {
    this.#api = options.api;
    this.namespace = options.namespace;
    this.name = options.name;
  }

  /** In-cluster configuration when running in a pod, else the default kubeconfig. */
  static fromKubeConfig(options: { namespace: string; name: string; kubeConfig?: KubeConfig }): KubernetesLeaseLock {
    let kc = options.kubeConfig;
    if (!kc) {
      kc = new KubeConfig();
      if (process.env.KUBERNETES_SERVICE_HOST) kc.loadFromCluster();
      else kc.loadFromDefault();
    }
    return new KubernetesLeaseLock({ api: kc.makeApiClient(CoordinationV1Api), namespace: options.namespace, name: options.name });
  }

  describe(): string {
    return `leases/${this.namespace}/${this.name}`;
  }

  #versioned(lease: V1Lease): VersionedRecord {
    const version = lease.metadata?.resourceVersion;
    if (!version) throw new TrimtabError('lease_invalid', `lease ${this.describe()} has no resourceVersion`);
    this.#cached = lease;
    return { record: leaseToRecord(lease), version };
  }

  async get(): Promise<VersionedRecord | null> {
    try {
      return this.#versioned(await this.#api.readNamespacedLease({ name: this.name, namespace: this.namespace }));
    } catch (error) {
      if (httpStatusOf(error) === 404) {
        this.#cached = null;
        return null;
      }
      throw error;
    }
  }

  async create(record: LeaderElectionRecord): Promise<VersionedRecord> {
    try {
      const body = applyRecord({}, record, this.namespace, this.name);
      return this.#versioned(await this.#api.createNamespacedLease({ namespace: this.namespace, body }));
    } catch (error) {
      if (httpStatusOf(error) === 409) throw new LockConflictError(`lease ${this.describe()} already exists`, { cause: error });
      throw error;
    }
  }

  async update(record: LeaderElectionRecord, version: string): Promise<VersionedRecord> {
    const base: V1Lease = this.#cached?.metadata?.resourceVersion === version ? this.#cached : { metadata: { resourceVersion: version } };
    const body = applyRecord(base, record, this.namespace, this.name);
    body.metadata!.resourceVersion = version;
    try {
      return this.#versioned(await this.#api.replaceNamespacedLease({ name: this.name, namespace: this.namespace, body }));
    } catch (error) {
      const status = httpStatusOf(error);
      if (status === 409 || status === 404) throw new LockConflictError(`lease ${this.describe()} changed since resourceVersion ${version} (HTTP ${status})`, { cause: error });
      throw error;
    }
  }
}
