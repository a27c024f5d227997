// The kube-state-metrics series the rule pack reads, computed from Pod, Node, ReplicaSet and Job objects.
// Names, labels, values and edge cases follow kube-state-metrics v2 (internal/store/pod.go, node.go,
// replicaset.go, job.go, utils.go):
//   - pod series carry namespace, pod, uid; node series carry node; replicaset series namespace,
//     replicaset; job series namespace, job_name;
//   - resources: cpu in cores (MilliValue/1000), memory / storage / ephemeral-storage / hugepages /
//     attachable volumes in bytes (Value(); nodes use MilliValue/1000 throughout), extended resources
//     (vendor.io/thing) as integers; resource names sanitised ([^a-zA-Z0-9_] → _);
//   - container info, restarts and last-terminated reason come from container *statuses* (info only
//     for statuses matching a spec container); requests and limits from the spec;
//   - an object without owner references gets one owner series with empty owner labels;
//   - kube_pod_status_phase: one series per phase (Pending, Succeeded, Failed, Unknown, Running), 1 for
//     the current one, none while the phase is empty.
// Empty label values are kept here (kube-state-metrics exposes them); they disappear on the wire like
// any empty label, which is what Prometheus does when it scrapes kube-state-metrics.

import type { Label } from '../protocol/types.ts';
import { parseQuantity, quantityMilliValue, quantityToFloat, quantityValue } from './quantity.ts';

export interface OwnerReference {
  apiVersion?: string;
  kind: string;
  name: string;
  uid?: string;
  controller?: boolean;
}

export interface ObjectMeta {
  name: string;
  namespace?: string;
  uid?: string;
  resourceVersion?: string;
  ownerReferences?: OwnerReference[];
  labels?: Record<string, string>;
  deletionTimestamp?: string;
}

export interface ResourceRequirements {
  requests?: Record<string, string>;
  limits?: Record<string, string>;
}

export interface ContainerSpec {
  name: string;
  image?: string;
  resources?: ResourceRequirements;
  restartPolicy?: string;
}

export interface ContainerStateTerminated {
  reason?: string;
  exitCode?: number;
}

export interface ContainerStatus {
  name: string;
  image?: string;
  imageID?: string;
  containerID?: string;
  restartCount?: number;
  ready?: boolean;
  state?: { running?: object; waiting?: { reason?: string }; terminated?: ContainerStateTerminated };
  lastState?: { terminated?: ContainerStateTerminated };
}

export interface Pod {
  metadata: ObjectMeta;
  spec: {
    nodeName?: string;
    containers: ContainerSpec[];
    initContainers?: ContainerSpec[];
    priorityClassName?: string;
    hostNetwork?: boolean;
  };
  status?: {
    phase?: string;
    hostIP?: string;
    podIP?: string;
    qosClass?: string;
    reason?: string;
    containerStatuses?: ContainerStatus[];
    initContainerStatuses?: ContainerStatus[];
  };
}

export interface Node {
  metadata: ObjectMeta;
  spec?: { providerID?: string; podCIDR?: string; unschedulable?: boolean };
  status?: {
    allocatable?: Record<string, string>;
    capacity?: Record<string, string>;
    addresses?: Array<{ type: string; address: string }>;
    nodeInfo?: {
      kernelVersion?: string;
      osImage?: string;
      containerRuntimeVersion?: string;
      kubeletVersion?: string;
      kubeProxyVersion?: string;
      systemUUID?: string;
    };
  };
}

/** A ReplicaSet or Job as far as the owner series need it. */
export interface OwnedObject {
  metadata: ObjectMeta;
}

export type FactEmitter = (name: string, labels: Label[], value: number) => void;

/** Metadata of every family this module can emit: name → [type, help] (kube-state-metrics' texts). */
export const FACT_FAMILIES: ReadonlyMap<string, { type: 'gauge' | 'counter'; help: string }> = new Map([
  ['kube_pod_info', { type: 'gauge', help: 'Information about pod.' }],
  ['kube_pod_owner', { type: 'gauge', help: "Information about the Pod's owner." }],
  ['kube_pod_status_phase', { type: 'gauge', help: 'The pods current phase.' }],
  ['kube_pod_status_qos_class', { type: 'gauge', help: 'The pods current qosClass.' }],
  ['kube_pod_container_info', { type: 'gauge', help: 'Information about a container in a pod.' }],
  ['kube_pod_container_resource_requests', { type: 'gauge', help: 'The number of requested request resource by a container. It is recommended to use the kube_pod_resource_requests metric exposed by kube-scheduler instead, as it is more precise.' }],
  ['kube_pod_container_resource_limits', { type: 'gauge', help: 'The number of requested limit resource by a container. It is recommended to use the kube_pod_resource_limits metric exposed by kube-scheduler instead, as it is more precise.' }],
  ['kube_pod_container_status_restarts_total', { type: 'counter', help: 'The number of container restarts per container.' }],
  ['kube_pod_container_status_last_terminated_reason', { type: 'gauge', help: 'Describes the last reason the container was in terminated state.' }],
  ['kube_pod_container_status_waiting_reason', { type: 'gauge', help: 'Describes the reason the container is currently in waiting state.' }],
  ['kube_pod_container_status_terminated_reason', { type: 'gauge', help: 'Describes the reason the container is currently in terminated state.' }],
  ['kube_pod_init_container_info', { type: 'gauge', help: 'Information about an init container in a pod.' }],
  ['kube_pod_init_container_resource_requests', { type: 'gauge', help: 'The number of requested request resource by an init container.' }],
  ['kube_pod_init_container_resource_limits', { type: 'gauge', help: 'The number of requested limit resource by an init container.' }],
  ['kube_pod_init_container_status_restarts_total', { type: 'counter', help: 'The number of restarts for the init container.' }],
  ['kube_pod_init_container_status_last_terminated_reason', { type: 'gauge', help: 'Describes the last reason the init container was in terminated state.' }],
  ['kube_node_info', { type: 'gauge', help: 'Information about a cluster node.' }],
  ['kube_node_status_allocatable', { type: 'gauge', help: 'The allocatable for different resources of a node that are available for scheduling.' }],
  ['kube_node_status_capacity', { type: 'gauge', help: 'The capacity for different resources of a node.' }],
  ['kube_node_spec_unschedulable', { type: 'gauge', help: 'Whether a node can schedule new pods.' }],
  ['kube_replicaset_owner', { type: 'gauge', help: "Information about the ReplicaSet's owner." }],
  ['kube_job_owner', { type: 'gauge', help: "Information about the Job's owner." }],
]);

/** kube-state-metrics' SanitizeLabelName. */
export function sanitizeLabelName(s: string): string {
  return s.replace(/[^a-zA-Z0-9_]/g, '_');
}

const QUALIFIED_NAME = /^[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$/;
const DNS_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;

/** apimachinery's IsQualifiedName: [prefix/]name. */
function isQualifiedName(s: string): boolean {
  const parts = s.split('/');
  if (parts.length > 2) return false;
  const name = parts[parts.length - 1];
  if (name.length === 0 || name.length > 63 || !QUALIFIED_NAME.test(name)) return false;
  if (parts.length === 2) {
    const prefix = parts[0];
    if (prefix.length === 0 || prefix.length > 253 || !DNS_SUBDOMAIN.test(prefix)) return false;
  }
  return true;
}

function isNativeResource(name: string): boolean {
  return !name.includes('/') || name.includes('kubernetes.io/');
}

function isExtendedResourceName(name: string): boolean {
  if (isNativeResource(name) || name.startsWith('requests.')) return false;
  return isQualifiedName('requests.' + name);
}

type Unit = 'core' | 'byte' | 'integer';

/**
 * The (unit, value) pairs kube-state-metrics emits for one resource of a container. An unparsable
 * quantity yields nothing (the API server never stores one). `node` selects the node rules (every value
 * is MilliValue/1000; `pods` is an integer).
 */
function resourceValues(resource: string, quantity: string, node: boolean): Array<[Unit, number]> {
  const q = parseQuantity(quantity);
  if (!q) return [];
  const bytes = node ? quantityMilliValue(q) / 1000 : quantityValue(q);
  switch (resource) {
    case 'cpu':
      return [['core', node ? quantityMilliValue(q) / 1000 : quantityToFloat(q)]];
    case 'storage':
    case 'ephemeral-storage':
    case 'memory':
      return [['byte', bytes]];
    case 'pods':
      if (node) return [['integer', bytes]];
      break;
  }
  const out: Array<[Unit, number]> = [];
  if (resource.startsWith('hugepages-')) out.push(['byte', bytes]);
  if (resource.startsWith('attachable-volumes-')) out.push(['byte', bytes]);
  if (isExtendedResourceName(resource)) out.push(['integer', bytes]);
  return out;
}

const PHASES = ['Pending', 'Succeeded', 'Failed', 'Unknown', 'Running'];
const QOS_CLASSES = ['BestEffort', 'Burstable', 'Guaranteed'];

const L = (name: string, value: string | undefined): Label => ({ name, value: value ?? '' });

/** Series of an owner list; an empty list gives one series with empty owner labels. */
function ownerLabels(owners: OwnerReference[] | undefined): Label[][] {
  if (!owners || owners.length === 0) return [[L('owner_kind', ''), L('owner_name', ''), L('owner_is_controller', '')]];
  return owners.map((o) => [L('owner_kind', o.kind), L('owner_name', o.name), L('owner_is_controller', o.controller === undefined ? 'false' : String(o.controller))]);
}

/** kube-state-metrics' pod series. `want(name)` skips families nobody keeps. */
export function podFacts(pod: Pod, emit: FactEmitter, want: (name: string) => boolean = () => true): void {
  const base = [L('namespace', pod.metadata.namespace), L('pod', pod.metadata.name), L('uid', pod.metadata.uid)];
  const node = pod.spec.nodeName ?? '';
  const status = pod.status ?? {};
  const statuses = status.containerStatuses ?? [];
  const initStatuses = status.initContainerStatuses ?? [];

  if (want('kube_pod_info')) {
    const controller = pod.metadata.ownerReferences?.find((o) => o.controller === true);
    emit(
      'kube_pod_info',
      [
        ...base,
        L('host_ip', status.hostIP),
        L('pod_ip', status.podIP),
        L('node', node),
        L('created_by_kind', controller?.kind),
        L('created_by_name', controller?.name),
        L('priority_class', pod.spec.priorityClassName),
        L('host_network', String(pod.spec.hostNetwork === true)),
      ],
      1,
    );
  }
  if (want('kube_pod_owner')) {
    for (const o of ownerLabels(pod.metadata.ownerReferences)) emit('kube_pod_owner', [...base, ...o], 1);
  }
  if (want('kube_pod_status_phase') && status.phase) {
    for (const phase of PHASES) emit('kube_pod_status_phase', [...base, L('phase', phase)], phase === status.phase ? 1 : 0);
  }
  if (want('kube_pod_status_qos_class') && status.qosClass) {
    for (const c of QOS_CLASSES) emit('kube_pod_status_qos_class', [...base, L('qos_class', c)], c === status.qosClass ? 1 : 0);
  }

  containerFacts('kube_pod_container', pod.spec.containers, statuses, base, node, emit, want, false);
  containerFacts('kube_pod_init_container', pod.spec.initContainers ?? [], initStatuses, base, node, emit, want, true);

  if (want('kube_pod_container_status_waiting_reason')) {
    for (const cs of statuses) {
      if (cs.state?.waiting) emit('kube_pod_container_status_waiting_reason', [...base, L('container', cs.name), L('reason', cs.state.waiting.reason)], 1);
    }
  }
  if (want('kube_pod_container_status_terminated_reason')) {
    for (const cs of statuses) {
      if (cs.state?.terminated) emit('kube_pod_container_status_terminated_reason', [...base, L('container', cs.name), L('reason', cs.state.terminated.reason)], 1);
    }
  }
}

function containerFacts(
  prefix: 'kube_pod_container' | 'kube_pod_init_container',
  specs: ContainerSpec[],
  statuses: ContainerStatus[],
  base: Label[],
  node: string,
  emit: FactEmitter,
  want: (name: string) => boolean,
  init: boolean,
): void {
  const info = `${prefix}_info`;
  if (want(info)) {
    for (const c of specs) {
      for (const cs of statuses) {
        if (cs.name !== c.name) continue;
        const labels = [...base, L('container', cs.name), L('image_spec', c.image), L('image', cs.image), L('image_id', cs.imageID), L('container_id', cs.containerID)];
        if (init) labels.push(L('restart_policy', c.restartPolicy));
        emit(info, labels, 1);
      }
    }
  }
  for (const kind of ['requests', 'limits'] as const) {
    const name = `${prefix}_resource_${kind}`;
    if (!want(name)) continue;
    for (const c of specs) {
      const resources = c.resources?.[kind];
      if (!resources) continue;
      for (const [resource, quantity] of Object.entries(resources)) {
        for (const [unit, value] of resourceValues(resource, quantity, false)) {
          emit(name, [...base, L('container', c.name), L('node', node), L('resource', sanitizeLabelName(resource)), L('unit', unit)], value);
        }
      }
    }
  }
  const restarts = `${prefix}_status_restarts_total`;
  if (want(restarts)) {
    for (const cs of statuses) emit(restarts, [...base, L('container', cs.name)], cs.restartCount ?? 0);
  }
  const lastReason = `${prefix}_status_last_terminated_reason`;
  if (want(lastReason)) {
    for (const cs of statuses) {
      const t = cs.lastState?.terminated;
      if (t) emit(lastReason, [...base, L('container', cs.name), L('reason', t.reason)], 1);
    }
  }
}

/** kube-state-metrics' node series. */
export function nodeFacts(node: Node, emit: FactEmitter, want: (name: string) => boolean = () => true): void {
  const base = [L('node', node.metadata.name)];
  const status = node.status ?? {};
  if (want('kube_node_info')) {
    const ni = status.nodeInfo ?? {};
    let internalIP = '';
    for (const a of status.addresses ?? []) if (a.type === 'InternalIP') internalIP = a.address;
    emit(
      'kube_node_info',
      [
        ...base,
        L('kernel_version', ni.kernelVersion),
        L('os_image', ni.osImage),
        L('container_runtime_version', ni.containerRuntimeVersion),
        L('kubelet_version', ni.kubeletVersion),
        L('kubeproxy_version', ni.kubeProxyVersion),
        L('provider_id', node.spec?.providerID),
        L('pod_cidr', node.spec?.podCIDR),
        L('system_uuid', ni.systemUUID),
        L('internal_ip', internalIP),
      ],
      1,
    );
  }
  for (const [name, resources] of [
    ['kube_node_status_allocatable', status.allocatable],
    ['kube_node_status_capacity', status.capacity],
  ] as const) {
    if (!want(name) || !resources) continue;
    for (const [resource, quantity] of Object.entries(resources)) {
      for (const [unit, value] of resourceValues(resource, quantity, true)) {
        emit(name, [...base, L('resource', sanitizeLabelName(resource)), L('unit', unit)], value);
      }
    }
  }
  if (want('kube_node_spec_unschedulable')) emit('kube_node_spec_unschedulable', base, node.spec?.unschedulable ? 1 : 0);
}

/** kube_replicaset_owner. */
export function replicaSetFacts(rs: OwnedObject, emit: FactEmitter): void {
  const base = [L('namespace', rs.metadata.namespace), L('replicaset', rs.metadata.name)];
  for (const o of ownerLabels(rs.metadata.ownerReferences)) emit('kube_replicaset_owner', [...base, ...o], 1);
}

/** kube_job_owner. */
export function jobFacts(job: OwnedObject, emit: FactEmitter): void {
  const base = [L('namespace', job.metadata.namespace), L('job_name', job.metadata.name)];
  for (const o of ownerLabels(job.metadata.ownerReferences)) emit('kube_job_owner', [...base, ...o], 1);
}

/** The owners of a pod the agent must look up: ReplicaSets (→ Deployment) and Jobs (→ CronJob). */
export function ownersToLookUp(pod: Pod): Array<{ kind: 'ReplicaSet' | 'Job'; namespace: string; name: string }> {
  const out: Array<{ kind: 'ReplicaSet' | 'Job'; namespace: string; name: string }> = [];
  for (const o of pod.metadata.ownerReferences ?? []) {
    if (o.kind === 'ReplicaSet' && (o.apiVersion ?? 'apps/v1').startsWith('apps/')) out.push({ kind: 'ReplicaSet', namespace: pod.metadata.namespace ?? '', name: o.name });
    else if (o.kind === 'Job' && (o.apiVersion ?? 'batch/v1').startsWith('batch/')) out.push({ kind: 'Job', namespace: pod.metadata.namespace ?? '', name: o.name });
  }
  return out;
}

/** Keeps only the fields the facts read, so that the agent's pod cache stays small. */
export function projectPod(o: Pod): Pod {
  const c = (s: ContainerSpec): ContainerSpec => ({ name: s.name, image: s.image, resources: s.resources, restartPolicy: s.restartPolicy });
  const st = (s: ContainerStatus): ContainerStatus => ({
    name: s.name,
    image: s.image,
    imageID: s.imageID,
    containerID: s.containerID,
    restartCount: s.restartCount,
    state: s.state ? { running: s.state.running ? {} : undefined, waiting: s.state.waiting ? { reason: s.state.waiting.reason } : undefined, terminated: s.state.terminated ? { reason: s.state.terminated.reason, exitCode: s.state.terminated.exitCode } : undefined } : undefined,
    lastState: s.lastState?.terminated ? { terminated: { reason: s.lastState.terminated.reason, exitCode: s.lastState.terminated.exitCode } } : undefined,
  });
  return {
    metadata: {
      name: o.metadata.name,
      namespace: o.metadata.namespace,
      uid: o.metadata.uid,
      resourceVersion: o.metadata.resourceVersion,
      ownerReferences: o.metadata.ownerReferences?.map((r) => ({ apiVersion: r.apiVersion, kind: r.kind, name: r.name, controller: r.controller })),
    },
    spec: {
      nodeName: o.spec?.nodeName,
      containers: (o.spec?.containers ?? []).map(c),
      initContainers: o.spec?.initContainers?.map(c),
      priorityClassName: o.spec?.priorityClassName,
      hostNetwork: o.spec?.hostNetwork,
    },
    status: o.status
      ? {
          phase: o.status.phase,
          hostIP: o.status.hostIP,
          podIP: o.status.podIP,
          qosClass: o.status.qosClass,
          reason: o.status.reason,
          containerStatuses: o.status.containerStatuses?.map(st),
          initContainerStatuses: o.status.initContainerStatuses?.map(st),
        }
      : undefined,
  };
}

export function projectNode(o: Node): Node {
  return {
    metadata: { name: o.metadata.name, uid: o.metadata.uid, resourceVersion: o.metadata.resourceVersion },
    spec: o.spec ? { providerID: o.spec.providerID, podCIDR: o.spec.podCIDR, unschedulable: o.spec.unschedulable } : undefined,
    status: o.status
      ? { allocatable: o.status.allocatable, capacity: o.status.capacity, addresses: o.status.addresses, nodeInfo: o.status.nodeInfo }
      : undefined,
  };
}
