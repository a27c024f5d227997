// Leader-election configuration from the environment (the analyzer role will add flags later; the same
// precedence as bin/config.ts applies then). Errors are ConfigErrors that name the offending key.
//
//   TRIMTAB_LEADER_ELECTION  kubernetes | postgres | none   default: kubernetes in a cluster
//                            (KUBERNETES_SERVICE_HOST set), else postgres; callers pass defaultMode 'none'
//                            for `trimtab all` on the embedded store
//   TRIMTAB_LEASE_DURATION   Go duration, default 15s
//   TRIMTAB_RENEW_DEADLINE   Go duration, default 10s
//   TRIMTAB_RETRY_PERIOD     Go duration, default 2s     (lease > renew deadline > 1.2 × retry period)
//   TRIMTAB_IDENTITY         default "<hostname>_<pid>"; must be unique per replica
//   TRIMTAB_LEASE_NAME       default trimtab-analyzer (Lease name, or leader_leases.name)
//   TRIMTAB_LEASE_NAMESPACE  default: the pod's namespace (service-account file), else "default"

import { readFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { ConfigError } from '../bin/config.ts';
import { formatDuration, parseDuration } from '../bin/duration.ts';
import {
  DEFAULT_LEASE_DURATION_MS,
  DEFAULT_RENEW_DEADLINE_MS,
  DEFAULT_RETRY_PERIOD_MS,
  InvalidTimingsError,
  validateTimings,
  type ElectionTimings,
} from './leader-election.ts';

export const LEADER_ELECTION_MODES = ['kubernetes', 'postgres', 'none'] as const;
export type LeaderElectionMode = (typeof LEADER_ELECTION_MODES)[number];

export interface LeaderElectionConfig extends ElectionTimings {
  mode: LeaderElectionMode;
  identity: string;
  leaseName: string;
  leaseNamespace: string;
}

export interface ResolveOptions {
  /** Overrides the in-cluster/out-of-cluster default (e.g. 'none' for `trimtab all` on PGlite). */
  defaultMode?: LeaderElectionMode;
  hostname?: string;
  pid?: number;
  /** Reads the service-account namespace file (injectable for tests). */
  readNamespaceFile?: () => string | undefined;
}

const NAMESPACE_FILE = '/var/run/secrets/kubernetes.io/serviceaccount/namespace';

function defaultNamespaceFile(): string | undefined {
  try {
    return readFileSync(NAMESPACE_FILE, 'utf8').trim() || undefined;
  } catch {
    return undefined;
  }
}

const TIMING_ENV: Record<keyof ElectionTimings, string> = {
  leaseDurationMs: 'TRIMTAB_LEASE_DURATION',
  renewDeadlineMs: 'TRIMTAB_RENEW_DEADLINE',
  retryPeriodMs: 'TRIMTAB_RETRY_PERIOD',
};

function duration(env: NodeJS.ProcessEnv, key: string, fallback: number): number {
  const raw = env[key];
  if (raw === undefined || raw.trim() === '') return fallback;
  const ms = parseDuration(raw);
  if (ms === null || ms <= 0) throw new ConfigError(`${key}: "${raw}" is not a positive duration (e.g. 15s, 500ms)`);
  return ms;
}

/** DNS-1123 subdomain, what Lease names and namespaces must be (namespaces: label, a subset). */
const DNS_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
const DNS_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;

export function resolveLeaderElectionConfig(env: NodeJS.ProcessEnv = process.env, options: ResolveOptions = {}): LeaderElectionConfig {
  const rawMode = env.TRIMTAB_LEADER_ELECTION?.trim();
  let mode: LeaderElectionMode;
  if (rawMode) {
    if (!(LEADER_ELECTION_MODES as readonly string[]).includes(rawMode)) {
      throw new ConfigError(`TRIMTAB_LEADER_ELECTION: "${rawMode}" is not one of ${LEADER_ELECTION_MODES.join(', ')}`);
    }
    mode = rawMode as LeaderElectionMode;
  } else {
    mode = options.defaultMode ?? (env.KUBERNETES_SERVICE_HOST ? 'kubernetes' : 'postgres');
  }

  const timings: ElectionTimings = {
    leaseDurationMs: duration(env, TIMING_ENV.leaseDurationMs, DEFAULT_LEASE_DURATION_MS),
    renewDeadlineMs: duration(env, TIMING_ENV.renewDeadlineMs, DEFAULT_RENEW_DEADLINE_MS),
    retryPeriodMs: duration(env, TIMING_ENV.retryPeriodMs, DEFAULT_RETRY_PERIOD_MS),
  };
  try {
    validateTimings(timings);
  } catch (error) {
    if (error instanceof InvalidTimingsError) {
      const described = `${TIMING_ENV.leaseDurationMs}=${formatDuration(timings.leaseDurationMs)}, ${TIMING_ENV.renewDeadlineMs}=${formatDuration(timings.renewDeadlineMs)}, ${TIMING_ENV.retryPeriodMs}=${formatDuration(timings.retryPeriodMs)}`;
      throw new ConfigError(`${TIMING_ENV[error.field]}: ${error.message} (${described})`, { cause: error });
    }
    throw error;
  }

  const identity = env.TRIMTAB_IDENTITY?.trim() || `${options.hostname ?? hostname()}_${options.pid ?? process.pid}`;
  if (identity.length > 253) throw new ConfigError('TRIMTAB_IDENTITY: longer than 253 characters');

  const leaseName = env.TRIMTAB_LEASE_NAME?.trim() || 'trimtab-analyzer';
  if (leaseName.length > 253 || !DNS_SUBDOMAIN.test(leaseName)) {
    throw new ConfigError(`TRIMTAB_LEASE_NAME: "${leaseName}" is not a valid name (lowercase letters, digits, '-' and '.')`);
  }
  const leaseNamespace = env.TRIMTAB_LEASE_NAMESPACE?.trim() || (options.readNamespaceFile ?? defaultNamespaceFile)() || 'default';
  if (leaseNamespace.length > 63 || !DNS_LABEL.test(leaseNamespace)) {
    throw new ConfigError(`TRIMTAB_LEASE_NAMESPACE: "${leaseNamespace}" is not a valid namespace name`);
  }

  return { mode, ...timings, identity, leaseName, leaseNamespace };
}
