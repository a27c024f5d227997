// End to end with real peers: the agent scrapes Debian's prometheus-node-exporter and a test kubelet
// (HTTPS, self-signed CA, bearer token) serving cAdvisor and resource-metrics text for a node whose pods a
// test API server serves, and remote-writes
//   - to Debian's VictoriaMetrics (a receiver no one here wrote; 1.0 only, so the agent, asked for 2.0,
//     must fall back), read back through /api/v1/export, and
//   - to Trimtab's receiver (PostgreSQL), with 2.0 and a bearer token that is rotated in its file.
// The series must arrive with the right names and labels, and nothing outside the keep-list.

import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { resolveAgentConfig } from '../../agent/config.ts';
import { startAgent, type RunningAgent } from '../../agent/agent.ts';
import { silentLogger } from '../../lib/log.ts';
import { startTestReceiver, type TestReceiver } from '../support/receiver.ts';
import { name, readBack } from '../support/write-client.ts';
import { buildNodeWorkload, type NodeWorkload } from './support/cluster.ts';
import { until } from './support/fake-receiver.ts';
import { startTestApiServer, type TestApiServer } from './support/kube-apiserver.ts';
import { startTestKubelet, type TestKubelet } from './support/kubelet.ts';
import { startNodeExporter, startVictoriaMetrics, type Peer, type VictoriaMetrics } from './support/peers.ts';
import { makeTestPki, type TestPki } from './support/tls.ts';

let pki: TestPki;
let api: TestApiServer;
let kubelet: TestKubelet;
let nodeExporter: Peer;
let vm: VictoriaMetrics;
let receiver: TestReceiver;
let dir: string;
let workload: NodeWorkload;
const agents: RunningAgent[] = [];

async function agentFor(url: string, extra: Record<string, string | string[]>): Promise<RunningAgent> {
  const env = { KUBERNETES_SERVICE_HOST: '127.0.0.1', KUBERNETES_SERVICE_PORT: new URL(api.url).port };
  const config = resolveAgentConfig(
    {
      'remote-write-url': url,
      cluster: 'e2e',
      'external-label': ['region=eu-west-1'],
      'node-name': 'node-a',
      'scrape-interval': '1s',
      'scrape-timeout': '1s',
      'service-account-dir': dir,
      'kubelet-url': kubelet.url,
      'kubelet-token-file': join(dir, 'kubelet-token'),
      'kubelet-ca-file': pki.caFile,
      'scrape-target': [`node-exporter=${nodeExporter.url}/metrics`],
      listen: '127.0.0.1:0',
      'min-backoff': '50ms',
      'max-backoff': '500ms',
      ...extra,
    },
    {},
  );
  const agent = await startAgent(config, { logger: silentLogger, env, defaultMetrics: false });
  agents.push(agent);
  return agent;
}

beforeAll(async () => {
  pki = await makeTestPki();
  workload = buildNodeWorkload('node-a', 12, 25, 11);
  api = await startTestApiServer({ cert: pki.serverCert, key: pki.serverKey });
  for (const p of workload.pods) api.apply('pods', p);
  api.apply('nodes', workload.node);
  for (const rs of workload.replicaSets) api.apply('replicasets', rs);
  for (const j of workload.jobs) api.apply('jobs', j);
  kubelet = await startTestKubelet({ cert: pki.serverCert, key: pki.serverKey }, workload.pods);
  dir = await mkdtemp(join(tmpdir(), 'trimtab-e2e-'));
  await writeFile(join(dir, 'token'), api.token);
  await writeFile(join(dir, 'ca.crt'), pki.ca);
  await writeFile(join(dir, 'kubelet-token'), kubelet.token);
  [nodeExporter, vm, receiver] = await Promise.all([startNodeExporter(), startVictoriaMetrics(), startTestReceiver('pg')]);
}, 120_000);

afterAll(async () => {
  for (const a of agents) await a.stop();
  await Promise.all([nodeExporter?.stop(), vm?.stop(), receiver?.stop(), kubelet?.close(), api?.close()]);
  await pki?.cleanup();
  if (dir) await rm(dir, { recursive: true, force: true });
}, 60_000);

const KEPT_CADVISOR = ['container_cpu_usage_seconds_total', 'container_memory_working_set_bytes', 'container_cpu_cfs_throttled_periods_total', 'container_cpu_cfs_periods_total', 'container_oom_events_total'];

describe('agent → VictoriaMetrics (real, 1.0 only)', () => {
  let agent: RunningAgent;
  beforeAll(async () => {
    agent = await agentFor(vm.writeUrl, { 'remote-write-version': '2' });
  });

  it('falls back from 2.0 to 1.0 (VictoriaMetrics answers 2xx without the Written headers) and delivers everything', async () => {
    await until('a few rounds', () => agent.rounds >= 3, 30_000);
    await until('delivered', async () => (await agent.metrics.samplesSent.get()).values[0]?.value > 0, 20_000);
    expect(agent.sender.version).toBe(1);
    expect((await agent.metrics.samplesFailed.get()).values.reduce((a, v) => a + v.value, 0)).toBe(0);
  });

  it('stores the cAdvisor series with the pod labels, without id/name and without non-pod cgroups', async () => {
    const series = await vm.export('{__name__="container_cpu_usage_seconds_total",metrics_path="/metrics/cadvisor"}');
    const containers = workload.pods.reduce((n, p) => n + (p.status?.containerStatuses?.length ?? 0), 0);
    // One series per container, per pause container and per pod cgroup; none for system cgroups.
    expect(series).toHaveLength(containers + 2 * workload.pods.length);
    for (const s of series) {
      expect(s.metric).toMatchObject({ job: 'kubelet', node: 'node-a', cluster: 'e2e', region: 'eu-west-1', cpu: 'total', instance: new URL(kubelet.url).host });
      expect(s.metric.pod).toBeTruthy();
      expect(s.metric.namespace).toBeTruthy();
      expect(s.metric.id).toBeUndefined();
      expect(s.metric.name).toBeUndefined();
      // Counters only grow, samples in time order.
      for (let i = 1; i < s.values.length; i++) {
        expect(s.timestamps[i]).toBeGreaterThan(s.timestamps[i - 1]);
        expect(s.values[i]).toBeGreaterThanOrEqual(s.values[i - 1]);
      }
    }
    const app = series.find((s) => s.metric.container === 'app' && s.metric.pod === workload.pods[0].metadata.name)!;
    expect(app.metric.image).toBe(workload.pods[0].status!.containerStatuses![0].image);
    expect(app.values.length).toBeGreaterThanOrEqual(2);
    for (const n of KEPT_CADVISOR) expect((await vm.export(`{__name__="${n}",metrics_path="/metrics/cadvisor"}`)).length).toBeGreaterThan(0);
    const machine = await vm.export('{__name__="machine_memory_bytes"}');
    expect(machine).toHaveLength(1);
    expect(machine[0].values.every((v) => v === 33186787328)).toBe(true);
    // Everything else the kubelet exposes was dropped at the source.
    for (const n of ['container_fs_reads_total', 'container_memory_rss', 'container_network_receive_bytes_total', 'container_tasks_state', 'cadvisor_version_info', 'pod_cpu_usage_seconds_total']) {
      expect(await vm.export(`{__name__="${n}"}`)).toHaveLength(0);
    }
  });

  it('stores the resource-metrics series apart from the cAdvisor ones (metrics_path)', async () => {
    const res = await vm.export('{__name__="container_memory_working_set_bytes",metrics_path="/metrics/resource"}');
    const containers = workload.pods.reduce((n, p) => n + (p.status?.containerStatuses?.length ?? 0), 0);
    expect(res).toHaveLength(containers);
    expect(Object.keys(res[0].metric).sort()).toEqual(['__name__', 'cluster', 'container', 'instance', 'job', 'metrics_path', 'namespace', 'node', 'pod', 'region'].sort());
  });

  it('stores node-exporter series with job, instance and node', async () => {
    const cpu = await vm.export('{__name__="node_cpu_seconds_total"}');
    expect(cpu.length).toBeGreaterThan(0);
    expect(cpu[0].metric).toMatchObject({ job: 'node-exporter', instance: new URL(nodeExporter.url).host, node: 'node-a', cluster: 'e2e' });
    expect(cpu.every((s) => s.metric.cpu !== undefined && s.metric.mode !== undefined)).toBe(true);
    expect(await vm.export('{__name__="node_memory_MemAvailable_bytes"}')).toHaveLength(1);
    expect(await vm.export('{__name__="node_load1"}')).toHaveLength(0);
  });

  it('stores the kube-state-metrics series of every pod, with owner chains', async () => {
    const owners = await vm.export('{__name__="kube_pod_owner"}');
    expect(owners).toHaveLength(workload.pods.length);
    const kinds = new Set(owners.map((s) => s.metric.owner_kind ?? ''));
    expect(kinds).toEqual(new Set(['ReplicaSet', 'StatefulSet', 'DaemonSet', 'Job', '']));
    const rsOwners = await vm.export('{__name__="kube_replicaset_owner"}');
    expect(rsOwners.map((s) => s.metric.replicaset).sort()).toEqual(workload.replicaSets.map((r) => r.metadata.name).sort());
    expect(rsOwners.every((s) => s.metric.owner_kind === 'Deployment' && s.metric.job === 'kube-state-metrics')).toBe(true);
    const jobOwners = await vm.export('{__name__="kube_job_owner"}');
    expect(jobOwners.map((s) => [s.metric.job_name, s.metric.owner_kind])).toEqual(workload.jobs.map((j) => [j.metadata.name, 'CronJob']));
    const oom = await vm.export('{__name__="kube_pod_container_status_last_terminated_reason"}');
    expect(oom.length).toBeGreaterThan(0);
    expect(oom.every((s) => s.metric.reason === 'OOMKilled')).toBe(true);
    const cpuReq = await vm.export('{__name__="kube_pod_container_resource_requests",resource="cpu"}');
    expect(cpuReq).toHaveLength(25);
    expect(cpuReq.every((s) => s.metric.unit === 'core' && s.metric.node === 'node-a' && s.values.every((v) => v > 0 && v <= 2))).toBe(true);
    const alloc = await vm.export('{__name__="kube_node_status_allocatable",resource="memory"}');
    expect(alloc[0].values[0]).toBe(31214540 * 1024);
  });
});

describe('agent → Trimtab receiver (PostgreSQL), 2.0, bearer token re-read when its file changes', () => {
  let agent: RunningAgent;
  const tokenFile = () => join(dir, 'trimtab-token');
  beforeAll(async () => {
    await writeFile(tokenFile(), 'tt_wrong_token_wrong_token_wrong');
    agent = await agentFor(`${receiver.url}/api/v1/write`, { 'remote-write-version': '2', 'bearer-token-file': tokenFile() });
  });

  it('is refused with a wrong token (401, not retried), then delivers once the file holds the right one', async () => {
    await until('401s', async () => ((await agent.metrics.samplesFailed.get()).values.find((v) => v.labels.code === '401')?.value ?? 0) > 0, 20_000);
    await writeFile(tokenFile(), receiver.tenants.alpha.token + '\n');
    await until('accepted', async () => ((await agent.metrics.samplesSent.get()).values[0]?.value ?? 0) > 0, 20_000);
    expect(agent.sender.version).toBe(2); // Trimtab speaks 2.0: no fallback
  });

  it('stores the series with the right names and labels', async () => {
    const tenant = receiver.tenants.alpha.tenant.id;
    await until('two rounds stored', async () => {
      const s = await readBack(receiver.storage, tenant, [name('container_memory_working_set_bytes'), { type: '=', name: 'metrics_path', value: '/metrics/cadvisor' }]);
      return s.length > 0 && s.every((x) => x.samples.length >= 2) ? s : undefined;
    }, 30_000);
    const ws = await readBack(receiver.storage, tenant, [name('container_memory_working_set_bytes'), { type: '=', name: 'metrics_path', value: '/metrics/cadvisor' }]);
    const containers = workload.pods.reduce((n, p) => n + (p.status?.containerStatuses?.length ?? 0), 0);
    expect(ws).toHaveLength(containers + 2 * workload.pods.length);
    expect(ws.every((s) => s.labels.cluster === 'e2e' && s.labels.node === 'node-a' && s.labels.id === undefined)).toBe(true);
    const owners = await readBack(receiver.storage, tenant, [name('kube_pod_owner')]);
    expect(owners).toHaveLength(workload.pods.length);
    expect(owners.every((s) => s.labels.job === 'kube-state-metrics' && s.labels.uid !== undefined)).toBe(true);
    const neCpu = await readBack(receiver.storage, tenant, [name('node_cpu_seconds_total')]);
    expect(neCpu.length).toBeGreaterThan(0);
    expect(neCpu[0].labels).toMatchObject({ job: 'node-exporter', node: 'node-a', region: 'eu-west-1' });
  });

  it('serves its own /metrics, /-/healthy and /-/ready', async () => {
    const base = `http://127.0.0.1:${agent.address.port}`;
    expect((await fetch(`${base}/-/healthy`)).status).toBe(200);
    expect((await fetch(`${base}/-/ready`)).status).toBe(200);
    const text = await (await fetch(`${base}/metrics`)).text();
    for (const m of ['trimtab_agent_samples_scraped_total', 'trimtab_agent_samples_sent_total', 'trimtab_agent_samples_failed_total', 'trimtab_agent_samples_retried_total', 'trimtab_agent_samples_dropped_total', 'trimtab_agent_queue_samples', 'trimtab_agent_remote_write_duration_seconds_bucket', 'trimtab_agent_scrape_duration_seconds_bucket']) {
      expect(text).toContain(m);
    }
    expect(text).toMatch(/trimtab_agent_scrapes_total\{job="kubelet",result="success"\} [1-9]/);
    expect(text).toMatch(/trimtab_agent_remote_write_requests_total\{code="401"\} [1-9]/);
    expect((await fetch(`${base}/nope`)).status).toBe(404);
  });
});
