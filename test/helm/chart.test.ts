// The chart's objects in each install mode: what the receiver, the analyzer, the agent and the migration
// Job render to, read back from the real `helm template` and asserted on.

import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import {
  AGENT_ONLY,
  CHART,
  CONTROL_PLANE_ONLY,
  DEFAULT_MODE,
  EVERYTHING,
  NAMESPACE,
  RELEASE,
  byKind,
  env,
  envVar,
  helm,
  one,
  podSpec,
  render,
  template,
  workloads,
  type K8sObject,
  type Values,
} from './support.ts';

const SEL = { 'app.kubernetes.io/name': 'trimtab', 'app.kubernetes.io/instance': RELEASE };
const chart = parse(readFileSync(join(CHART, 'Chart.yaml'), 'utf8')) as { appVersion: string; version: string };

let defaults: K8sObject[];
let controlPlane: K8sObject[];
let agentOnly: K8sObject[];
let everything: K8sObject[];

beforeAll(async () => {
  [defaults, controlPlane, agentOnly, everything] = await Promise.all([render(DEFAULT_MODE), render(CONTROL_PLANE_ONLY), render(AGENT_ONLY), render(EVERYTHING)]);
});

function container(workload: K8sObject, name?: string) {
  const containers = podSpec(workload).containers as { name: string }[];
  return (name ? containers.find((c) => c.name === name) : containers[0]) as unknown as K8sObject;
}

function matches(selector: Record<string, string>, labels: Record<string, string> | undefined): boolean {
  return Object.entries(selector).every(([k, v]) => labels?.[k] === v);
}

describe('helm lint', () => {
  const modes: [string, Values][] = [
    ['defaults', DEFAULT_MODE],
    ['control plane only', CONTROL_PLANE_ONLY],
    ['agent only', AGENT_ONLY],
    ['every option', EVERYTHING],
  ];
  it.each(modes)('passes --strict with %s', async (_name, values) => {
    const { mkdtempSync, writeFileSync, rmSync } = await import('node:fs');
    const { tmpdir } = await import('node:os');
    const dir = mkdtempSync(join(tmpdir(), 'trimtab-lint-'));
    try {
      writeFileSync(join(dir, 'values.json'), JSON.stringify(values));
      const r = await helm(['lint', '--strict', CHART, '--namespace', NAMESPACE, '-f', join(dir, 'values.json')]);
      expect(r.stderr + r.stdout).toContain('1 chart(s) linted, 0 chart(s) failed');
      expect(r.code).toBe(0);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('install modes', () => {
  const kinds = (objects: K8sObject[]) => objects.map((o) => `${o.kind}/${o.metadata.name}`).sort();

  it('defaults: the control plane and the agent', () => {
    expect(kinds(workloads(defaults))).toEqual(['DaemonSet/trimtab-agent', 'Deployment/trimtab-analyzer', 'Deployment/trimtab-receiver', 'Job/trimtab-migrate']);
  });

  it('control plane only: no agent, and no cluster-wide rights', () => {
    expect(kinds(workloads(controlPlane))).toEqual(['Deployment/trimtab-analyzer', 'Deployment/trimtab-receiver', 'Job/trimtab-migrate']);
    expect(byKind(controlPlane, 'ClusterRole')).toEqual([]);
    expect(byKind(controlPlane, 'ClusterRoleBinding')).toEqual([]);
  });

  it('agent only: the DaemonSet and what it needs, nothing of the control plane', () => {
    expect(kinds(agentOnly)).toEqual([
      'ClusterRole/trimtab-agent',
      'ClusterRoleBinding/trimtab-agent',
      'DaemonSet/trimtab-agent',
      'NetworkPolicy/trimtab-agent',
      'ServiceAccount/trimtab-agent',
    ]);
    expect(JSON.stringify(agentOnly)).not.toContain('DATABASE_URL');
  });

  it('every namespaced object lands in the release namespace; every name is a valid DNS label', async () => {
    const long = await render(EVERYTHING, { release: 'a-rather-long-release-name-for-the-production-cluster' });
    for (const objects of [defaults, controlPlane, agentOnly, everything, long]) {
      for (const o of objects) {
        expect(o.metadata.name, `${o.kind} name`).toMatch(/^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/);
        if (!['ClusterRole', 'ClusterRoleBinding'].includes(o.kind)) expect(o.metadata.namespace, `${o.kind}/${o.metadata.name}`).toBe(NAMESPACE);
      }
    }
  });

  it("every workload's selector matches its pod template, and selectors of different components do not overlap", () => {
    for (const w of workloads(everything)) {
      if (w.kind === 'Job') continue;
      expect(matches(w.spec.selector.matchLabels, w.spec.template.metadata.labels), `${w.kind}/${w.metadata.name}`).toBe(true);
      for (const other of workloads(everything)) {
        if (other !== w) expect(matches(w.spec.selector.matchLabels, other.spec.template.metadata.labels)).toBe(false);
      }
    }
  });

  it('image: repository and tag (default: the chart appVersion), or a digest', async () => {
    for (const w of workloads(defaults)) expect(container(w).image).toBe(`ghcr.io/trimtab/trimtab:${chart.appVersion}`);
    const digest = `sha256:${'a'.repeat(64)}`;
    const custom = await render({ image: { repository: 'registry.internal/trimtab', tag: '9.9.9', pullPolicy: 'Always' } });
    for (const w of workloads(custom)) {
      expect(container(w).image).toBe('registry.internal/trimtab:9.9.9');
      expect(container(w).imagePullPolicy).toBe('Always');
    }
    const pinned = await render({ image: { repository: 'registry.internal/trimtab', tag: '9.9.9', digest } });
    for (const w of workloads(pinned)) expect(container(w).image).toBe(`registry.internal/trimtab@${digest}`);
  });

  it("Chart.yaml's appVersion is package.json's version", () => {
    const pkg = JSON.parse(readFileSync(join(CHART, '..', '..', 'package.json'), 'utf8')) as { version: string };
    expect(chart.appVersion).toBe(pkg.version);
  });
});

describe('receiver', () => {
  it('Deployment: the receiver role on its port, replicas left to the HPA', () => {
    const d = one(defaults, 'Deployment', 'trimtab-receiver');
    const c = container(d);
    expect(c.args).toEqual(['receiver']);
    expect(d.spec.replicas).toBeUndefined();
    expect(c.ports).toEqual([{ name: 'http', containerPort: 9201, protocol: 'TCP' }]);
    expect(env(c, 'TRIMTAB_LISTEN')).toBe('0.0.0.0:9201');
    expect(d.spec.strategy.rollingUpdate.maxUnavailable).toBe(0);
    expect(podSpec(d).automountServiceAccountToken).toBe(false);
  });

  it('3 replicas in the Deployment when autoscaling is off, and no HPA', async () => {
    const objects = await render({ receiver: { autoscaling: { enabled: false } } });
    expect(one(objects, 'Deployment', 'trimtab-receiver').spec.replicas).toBe(3);
    expect(byKind(objects, 'HorizontalPodAutoscaler')).toEqual([]);
    const five = await render({ receiver: { replicas: 5, autoscaling: { enabled: false } } });
    expect(one(five, 'Deployment', 'trimtab-receiver').spec.replicas).toBe(5);
  });

  it('HPA autoscaling/v2: 3 to 10 replicas at 70 % CPU', () => {
    const hpa = one(defaults, 'HorizontalPodAutoscaler', 'trimtab-receiver');
    expect(hpa.apiVersion).toBe('autoscaling/v2');
    expect(hpa.spec.scaleTargetRef).toEqual({ apiVersion: 'apps/v1', kind: 'Deployment', name: 'trimtab-receiver' });
    expect(hpa.spec.minReplicas).toBe(3);
    expect(hpa.spec.maxReplicas).toBe(10);
    expect(hpa.spec.metrics).toEqual([{ type: 'Resource', resource: { name: 'cpu', target: { type: 'Utilization', averageUtilization: 70 } } }]);
    // CPU utilisation is relative to the request: there must be one.
    expect(container(one(defaults, 'Deployment', 'trimtab-receiver')).resources.requests.cpu).toBeTruthy();
  });

  it('Service: the named http port of the pods', () => {
    const s = one(defaults, 'Service', 'trimtab-receiver');
    expect(s.spec.type).toBe('ClusterIP');
    expect(s.spec.ports).toEqual([{ name: 'http', port: 9201, targetPort: 'http', protocol: 'TCP' }]);
    expect(s.spec.selector).toEqual({ ...SEL, 'app.kubernetes.io/component': 'receiver' });
  });

  it('PDB: maxUnavailable 1 (never minAvailable), and values.yaml says why', () => {
    const pdb = one(defaults, 'PodDisruptionBudget', 'trimtab-receiver');
    expect(pdb.spec.maxUnavailable).toBe(1);
    expect(pdb.spec.minAvailable).toBeUndefined();
    expect(pdb.spec.selector.matchLabels).toEqual({ ...SEL, 'app.kubernetes.io/component': 'receiver' });
    const values = readFileSync(join(CHART, 'values.yaml'), 'utf8');
    expect(values).toMatch(/minAvailable equal to the replica count[\s\S]{0,300}drain` of a\s+#?\s*node[\s\S]{0,100}blocks forever/);
  });

  it('Ingress: class, Kong annotations, TLS, only the API paths, the rate-limiting KongPlugin', () => {
    const ing = one(everything, 'Ingress', 'trimtab-receiver');
    expect(ing.apiVersion).toBe('networking.k8s.io/v1');
    expect(ing.spec.ingressClassName).toBe('kong');
    expect(ing.metadata.annotations).toMatchObject({
      'konghq.com/protocols': 'https',
      'konghq.com/https-redirect-status-code': '308',
      'konghq.com/strip-path': 'false',
      'konghq.com/plugins': 'trimtab-rate-limiting',
    });
    expect(ing.spec.tls).toEqual([{ hosts: ['trimtab.example.com'], secretName: 'trimtab-receiver-tls' }]);
    expect(ing.spec.rules).toEqual([
      {
        host: 'trimtab.example.com',
        http: { paths: [{ path: '/api/v1', pathType: 'Prefix', backend: { service: { name: 'trimtab-receiver', port: { name: 'http' } } } }] },
      },
    ]);
    const plugin = one(everything, 'KongPlugin', 'trimtab-rate-limiting');
    expect(plugin.apiVersion).toBe('configuration.konghq.com/v1');
    expect(plugin.plugin).toBe('rate-limiting');
    expect(plugin.config).toMatchObject({ policy: 'local', limit_by: 'header', header_name: 'Authorization' });
  });

  it('Ingress options: another class, own TLS secret, no plugin, extra plugins kept', async () => {
    const objects = await render({
      receiver: { ingress: { enabled: true, className: 'nginx', hosts: ['a.example.org', 'b.example.org'], tls: { secretName: 'my-cert' }, annotations: { 'konghq.com/plugins': 'cors' } } },
    });
    const ing = one(objects, 'Ingress', 'trimtab-receiver');
    expect(ing.spec.ingressClassName).toBe('nginx');
    expect(ing.spec.tls).toEqual([{ hosts: ['a.example.org', 'b.example.org'], secretName: 'my-cert' }]);
    expect(ing.metadata.annotations!['konghq.com/plugins']).toBe('cors');
    expect(byKind(objects, 'KongPlugin')).toEqual([]);
    const both = await render({ receiver: { ingress: { enabled: true, annotations: { 'konghq.com/plugins': 'cors' }, kongPlugin: { enabled: true } } } });
    expect(one(both, 'Ingress', 'trimtab-receiver').metadata.annotations!['konghq.com/plugins']).toBe('cors,trimtab-rate-limiting');
    expect(byKind(defaults, 'Ingress')).toEqual([]);
  });

  it('PostgreSQL URL from an existing Secret (DATABASE_URL key), for receiver and analyzer', async () => {
    for (const name of ['trimtab-receiver', 'trimtab-analyzer']) {
      const c = container(one(defaults, 'Deployment', name));
      expect(envVar(c, 'DATABASE_URL')).toEqual({ name: 'DATABASE_URL', valueFrom: { secretKeyRef: { name: 'trimtab-database', key: 'DATABASE_URL' } } });
    }
    const custom = await render({ database: { existingSecret: 'pg-app', secretKey: 'uri' } });
    expect(envVar(container(one(custom, 'Deployment', 'trimtab-receiver')), 'DATABASE_URL')).toEqual({ name: 'DATABASE_URL', valueFrom: { secretKeyRef: { name: 'pg-app', key: 'uri' } } });
  });

  it('TRIMTAB_BOOTSTRAP_TOKEN only from a Secret, only when one is named, for every role that may bootstrap', () => {
    // Receiver and analyzer both create tenant `default` on an empty database; whichever starts first must
    // use the configured token.
    for (const name of ['trimtab-receiver', 'trimtab-analyzer']) {
      expect(envVar(container(one(defaults, 'Deployment', name)), 'TRIMTAB_BOOTSTRAP_TOKEN')).toBeUndefined();
      expect(envVar(container(one(everything, 'Deployment', name)), 'TRIMTAB_BOOTSTRAP_TOKEN')).toEqual({
        name: 'TRIMTAB_BOOTSTRAP_TOKEN',
        valueFrom: { secretKeyRef: { name: 'trimtab-bootstrap', key: 'token' } },
      });
    }
    expect(envVar(container(one(everything, 'Job', 'trimtab-migrate')), 'TRIMTAB_BOOTSTRAP_TOKEN')).toBeUndefined();
  });

  it('receiver.config becomes environment variables; extraEnv is appended', () => {
    const c = container(one(everything, 'Deployment', 'trimtab-receiver'));
    expect(env(c, 'TRIMTAB_INGESTION_RATE')).toBe('200000');
    expect(env(c, 'TRIMTAB_MAX_BODY_BYTES')).toBe('32MiB');
    expect(env(c, 'TRIMTAB_QUERY_TIMEOUT')).toBe('1m');
    expect(env(c, 'EXTRA')).toBe('1');
  });

  it('graceful shutdown: a preStop sleep, and a grace period longer than the drain', () => {
    const d = one(defaults, 'Deployment', 'trimtab-receiver');
    expect(container(d).lifecycle).toEqual({ preStop: { sleep: { seconds: 5 } } });
    expect(podSpec(d).terminationGracePeriodSeconds).toBeGreaterThan(30 + 5);
  });
});

describe('analyzer', () => {
  it('Deployment: 2 replicas, Kubernetes leader election, one identity per pod, the default rule pack', () => {
    const d = one(defaults, 'Deployment', 'trimtab-analyzer');
    const c = container(d);
    expect(d.spec.replicas).toBe(2);
    expect(c.args).toEqual(['analyzer']);
    expect(c.ports).toEqual([{ name: 'http', containerPort: 9203, protocol: 'TCP' }]);
    expect(env(c, 'TRIMTAB_ANALYZER_LISTEN')).toBe('0.0.0.0:9203');
    expect(env(c, 'TRIMTAB_LEADER_ELECTION')).toBe('kubernetes');
    expect(env(c, 'TRIMTAB_LEASE_NAME')).toBe('trimtab-analyzer');
    expect(env(c, 'TRIMTAB_LEASE_NAMESPACE')).toBe(NAMESPACE);
    expect(env(c, 'TRIMTAB_LEASE_DURATION')).toBe('15s');
    expect(env(c, 'TRIMTAB_RENEW_DEADLINE')).toBe('10s');
    expect(env(c, 'TRIMTAB_RETRY_PERIOD')).toBe('2s');
    expect(envVar(c, 'TRIMTAB_IDENTITY')).toEqual({ name: 'TRIMTAB_IDENTITY', valueFrom: { fieldRef: { fieldPath: 'metadata.name' } } });
    expect(env(c, 'TRIMTAB_RULE_FILES')).toBe('/app/rules/*.yml');
    expect(podSpec(d).serviceAccountName).toBe('trimtab-analyzer');
    expect(podSpec(d).automountServiceAccountToken).toBe(true);
    expect(one(defaults, 'ServiceAccount', 'trimtab-analyzer')).toBeTruthy();
  });

  it('Role: get/create/update on coordination.k8s.io leases and nothing more', () => {
    const role = one(defaults, 'Role', 'trimtab-analyzer');
    expect(role.rules).toEqual([
      { apiGroups: ['coordination.k8s.io'], resources: ['leases'], verbs: ['create'] },
      { apiGroups: ['coordination.k8s.io'], resources: ['leases'], resourceNames: ['trimtab-analyzer'], verbs: ['get', 'update'] },
    ]);
    const binding = one(defaults, 'RoleBinding', 'trimtab-analyzer');
    expect(binding.roleRef).toEqual({ apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: 'trimtab-analyzer' });
    expect(binding.subjects).toEqual([{ kind: 'ServiceAccount', name: 'trimtab-analyzer', namespace: NAMESPACE }]);
    // No other grant reaches the analyzer's service account.
    const grants = [...byKind(defaults, 'RoleBinding'), ...byKind(defaults, 'ClusterRoleBinding')].filter((b) =>
      (b.subjects as { name: string }[]).some((s) => s.name === 'trimtab-analyzer'),
    );
    expect(grants.map((b) => b.metadata.name)).toEqual(['trimtab-analyzer']);
  });

  it('the lease name is configurable and the Role follows it', async () => {
    const objects = await render({ analyzer: { leaderElection: { leaseName: 'recs-leader' } } });
    expect(env(container(one(objects, 'Deployment', 'trimtab-analyzer')), 'TRIMTAB_LEASE_NAME')).toBe('recs-leader');
    expect(one(objects, 'Role', 'trimtab-analyzer').rules[1].resourceNames).toEqual(['recs-leader']);
  });

  it('PostgreSQL leader election: no Role, no service-account token', async () => {
    const objects = await render({ analyzer: { leaderElection: { mode: 'postgres' } } });
    const d = one(objects, 'Deployment', 'trimtab-analyzer');
    expect(env(container(d), 'TRIMTAB_LEADER_ELECTION')).toBe('postgres');
    expect(podSpec(d).automountServiceAccountToken).toBe(false);
    expect(byKind(objects, 'Role')).toEqual([]);
    expect(byKind(objects, 'RoleBinding')).toEqual([]);
  });

  it('extra rule files: a ConfigMap mounted read-only and added to TRIMTAB_RULE_FILES', () => {
    const d = one(everything, 'Deployment', 'trimtab-analyzer');
    const c = container(d);
    expect(env(c, 'TRIMTAB_RULE_FILES')).toBe('/app/rules/*.yml,/etc/trimtab/rules/team.yml');
    expect(c.volumeMounts).toContainEqual({ name: 'rules', mountPath: '/etc/trimtab/rules', readOnly: true });
    expect(podSpec(d).volumes).toContainEqual({ name: 'rules', configMap: { name: 'trimtab-analyzer-rules' } });
    const cm = one(everything, 'ConfigMap', 'trimtab-analyzer-rules');
    expect(parse(cm.data['team.yml'])).toEqual({ groups: [{ name: 'team', rules: [{ record: 'team:up:sum', expr: 'sum(up)' }] }] });
    // A rules change rolls the pods.
    expect(d.spec.template.metadata.annotations['checksum/rules']).toMatch(/^[0-9a-f]{64}$/);
  });

  it('PDB: maxUnavailable 1', () => {
    expect(one(defaults, 'PodDisruptionBudget', 'trimtab-analyzer').spec).toMatchObject({ maxUnavailable: 1 });
  });
});

describe('agent', () => {
  it('DaemonSet with Guaranteed QoS: requests equal limits, 100m / 100Mi', () => {
    const ds = one(defaults, 'DaemonSet', 'trimtab-agent');
    const c = container(ds);
    expect(c.args).toEqual(['agent']);
    expect(c.resources).toEqual({ requests: { cpu: '100m', memory: '100Mi' }, limits: { cpu: '100m', memory: '100Mi' } });
    for (const ct of podSpec(ds).containers as K8sObject[]) {
      for (const r of ['cpu', 'memory']) {
        expect(ct.resources.limits[r], `${ct.name} ${r} limit`).toBeTruthy();
        expect(ct.resources.requests[r], `${ct.name} ${r} request`).toBe(ct.resources.limits[r]);
      }
    }
    expect(podSpec(ds).initContainers).toBeUndefined();
  });

  it('spill buffer: a memory-backed emptyDir with a sizeLimit above the buffer bound', () => {
    const ds = one(defaults, 'DaemonSet', 'trimtab-agent');
    const c = container(ds);
    const dir = env(c, 'TRIMTAB_BUFFER_DIR');
    const mount = (c.volumeMounts as { name: string; mountPath: string }[]).find((m) => m.mountPath === dir);
    expect(mount).toBeTruthy();
    const volume = (podSpec(ds).volumes as { name: string; emptyDir?: { medium?: string; sizeLimit?: string } }[]).find((v) => v.name === mount!.name);
    expect(volume?.emptyDir).toEqual({ medium: 'Memory', sizeLimit: '40Mi' });
    expect(env(c, 'TRIMTAB_BUFFER_MEMORY')).toBe('8MiB');
    expect(env(c, 'TRIMTAB_BUFFER_MAX')).toBe('32MiB');
  });

  it('ClusterRole: pods and its node (get/list/watch), nodes/metrics, owner lookups; nodes/proxy only on request', () => {
    const expected = [
      { apiGroups: [''], resources: ['pods', 'nodes'], verbs: ['get', 'list', 'watch'] },
      { apiGroups: [''], resources: ['nodes/metrics'], verbs: ['get'] },
      { apiGroups: ['apps'], resources: ['replicasets'], verbs: ['get'] },
      { apiGroups: ['batch'], resources: ['jobs'], verbs: ['get'] },
    ];
    expect(one(defaults, 'ClusterRole', 'trimtab-agent').rules).toEqual(expected);
    expect(one(agentOnly, 'ClusterRole', 'trimtab-agent').rules).toEqual(expected);
    expect(one(everything, 'ClusterRole', 'trimtab-agent').rules).toEqual([...expected.slice(0, 2), { apiGroups: [''], resources: ['nodes/proxy'], verbs: ['get'] }, ...expected.slice(2)]);
    const binding = one(defaults, 'ClusterRoleBinding', 'trimtab-agent');
    expect(binding.roleRef).toEqual({ apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: 'trimtab-agent' });
    expect(binding.subjects).toEqual([{ kind: 'ServiceAccount', name: podSpec(one(defaults, 'DaemonSet', 'trimtab-agent')).serviceAccountName, namespace: NAMESPACE }]);
  });

  it('the owner lookups the RBAC grants are the ones agent/kube.ts makes', () => {
    const kube = readFileSync(join(CHART, '..', '..', 'agent', 'kube.ts'), 'utf8');
    expect(kube).toContain('/apis/apps/v1/namespaces/${encodeURIComponent(e.namespace)}/replicasets/');
    expect(kube).toContain('/apis/batch/v1/namespaces/${encodeURIComponent(e.namespace)}/jobs/');
    expect(kube).toContain('/api/v1/pods?');
    expect(kube).toContain('/api/v1/nodes?');
  });

  it('runs on every node: tolerates every taint', () => {
    expect(podSpec(one(defaults, 'DaemonSet', 'trimtab-agent')).tolerations).toEqual([{ operator: 'Exists' }]);
  });

  it('node identity from the downward API', () => {
    const c = container(one(defaults, 'DaemonSet', 'trimtab-agent'));
    expect(envVar(c, 'TRIMTAB_NODE_NAME')).toEqual({ name: 'TRIMTAB_NODE_NAME', valueFrom: { fieldRef: { fieldPath: 'spec.nodeName' } } });
    expect(envVar(c, 'TRIMTAB_NODE_IP')).toEqual({ name: 'TRIMTAB_NODE_IP', valueFrom: { fieldRef: { fieldPath: 'status.hostIP' } } });
  });

  function tokenSource(ds: K8sObject): { secretName: string; key: string } {
    const c = container(ds);
    const file = env(c, 'TRIMTAB_BEARER_TOKEN_FILE')!;
    const mount = (c.volumeMounts as { name: string; mountPath: string; readOnly?: boolean }[]).find((m) => file.startsWith(`${m.mountPath}/`));
    expect(mount?.readOnly).toBe(true);
    const volume = (podSpec(ds).volumes as { name: string; secret?: { secretName: string; items: { key: string; path: string }[] } }[]).find((v) => v.name === mount!.name)!;
    const item = volume.secret!.items.find((i) => `${mount!.mountPath}/${i.path}` === file)!;
    return { secretName: volume.secret!.secretName, key: item.key };
  }

  it('combined mode: sends to this release’s receiver, token from a Secret', () => {
    const ds = one(defaults, 'DaemonSet', 'trimtab-agent');
    expect(env(container(ds), 'TRIMTAB_REMOTE_WRITE_URL')).toBe(`http://trimtab-receiver.${NAMESPACE}.svc:9201/api/v1/write`);
    expect(env(container(ds), 'TRIMTAB_CLUSTER')).toBe(RELEASE);
    expect(tokenSource(ds)).toEqual({ secretName: 'trimtab-agent-token', key: 'token' });
    // With a bootstrap token, the agent uses it (one Secret for a working install).
    expect(tokenSource(one(everything, 'DaemonSet', 'trimtab-agent'))).toEqual({ secretName: 'trimtab-bootstrap', key: 'token' });
  });

  it('agent only: the remote URL, the cluster name and the existing token Secret from values', async () => {
    const ds = one(agentOnly, 'DaemonSet', 'trimtab-agent');
    const c = container(ds);
    expect(env(c, 'TRIMTAB_REMOTE_WRITE_URL')).toBe('https://trimtab.example.com/api/v1/write');
    expect(env(c, 'TRIMTAB_CLUSTER')).toBe('prod-eu-1');
    expect(tokenSource(ds)).toEqual({ secretName: 'trimtab-token', key: 'token' });
    const otherKey = await render({ ...AGENT_ONLY, agent: { ...(AGENT_ONLY.agent as Values), remoteWrite: { url: 'https://t.example/api/v1/write', existingSecret: 's', secretKey: 'k' } } });
    expect(tokenSource(one(otherKey, 'DaemonSet', 'trimtab-agent'))).toEqual({ secretName: 's', key: 'k' });
  });

  it('options: TLS CA, external labels, kubelet port and paths, config map', () => {
    const ds = one(everything, 'DaemonSet', 'trimtab-agent');
    const c = container(ds);
    const ca = env(c, 'TRIMTAB_TLS_CA_FILE')!;
    const caMount = (c.volumeMounts as { name: string; mountPath: string }[]).find((m) => ca.startsWith(`${m.mountPath}/`))!;
    expect((podSpec(ds).volumes as K8sObject[]).find((v) => v.name === caMount.name)!.secret.secretName).toBe('trimtab-ca');
    expect(env(c, 'TRIMTAB_EXTERNAL_LABELS')).toBe('region=eu-1');
    expect(env(c, 'TRIMTAB_KUBELET_INSECURE_SKIP_VERIFY')).toBe('true');
    expect(env(c, 'TRIMTAB_KUBELET_PATHS')).toBe('/metrics/cadvisor');
    expect(env(c, 'TRIMTAB_KEEP_METRICS')).toBe('up,node_.*');
    expect(env(c, 'TRIMTAB_SHARDS')).toBe('4');
    // $(TRIMTAB_NODE_IP) expands only when that variable is defined earlier in the list.
    const names = (c.env as { name: string }[]).map((e) => e.name);
    expect(env(c, 'TRIMTAB_KUBELET_URL')).toBe('https://$(TRIMTAB_NODE_IP):10255');
    expect(names.indexOf('TRIMTAB_NODE_IP')).toBeLessThan(names.indexOf('TRIMTAB_KUBELET_URL'));
    expect(env(container(one(defaults, 'DaemonSet', 'trimtab-agent')), 'TRIMTAB_KUBELET_URL')).toBeUndefined();
  });

  it('a metrics Service for the ServiceMonitor only when one is wanted', () => {
    expect(byKind(defaults, 'Service').map((s) => s.metadata.name)).not.toContain('trimtab-agent');
    expect(one(everything, 'Service', 'trimtab-agent').spec.clusterIP).toBe('None');
  });
});

describe('migrations', () => {
  it('a pre-install,pre-upgrade hook Job runs `trimtab migrate` with the database Secret', () => {
    const job = one(defaults, 'Job', 'trimtab-migrate');
    expect(job.metadata.annotations).toMatchObject({ 'helm.sh/hook': 'pre-install,pre-upgrade', 'helm.sh/hook-delete-policy': 'before-hook-creation' });
    const spec = podSpec(job);
    expect(spec.restartPolicy).toBe('Never');
    expect(spec.containers[0].args).toEqual(['migrate']);
    expect(envVar(spec.containers[0], 'DATABASE_URL')).toEqual({ name: 'DATABASE_URL', valueFrom: { secretKeyRef: { name: 'trimtab-database', key: 'DATABASE_URL' } } });
    // A pre-install hook runs before the chart's other objects exist: it must not need any of them.
    expect(spec.serviceAccountName).toBeUndefined();
    expect(spec.automountServiceAccountToken).toBe(false);
    expect(job.spec.activeDeadlineSeconds).toBeGreaterThan(0);
    expect(job.spec.backoffLimit).toBeGreaterThanOrEqual(0);
  });

  it('migrations.mode=startup: no Job (the server processes migrate as they start)', async () => {
    const objects = await render({ migrations: { mode: 'startup' } });
    expect(byKind(objects, 'Job')).toEqual([]);
    expect(byKind(objects, 'NetworkPolicy').map((n) => n.metadata.name)).not.toContain('trimtab-migrate');
  });

  it('no hook in agent-only mode', () => {
    expect(byKind(agentOnly, 'Job')).toEqual([]);
  });
});

describe('template failures name the values key', () => {
  it('an unknown receiver.config option', async () => {
    // The schema refuses it first; either way the message names the key.
    const r = await template({ receiver: { config: { ingestionRat: 5 } } });
    expect(r.code).not.toBe(0);
    expect(r.stderr).toMatch(/receiver\/config|receiver\.config/);
    expect(r.stderr).toContain('ingestionRat');
  });
});
