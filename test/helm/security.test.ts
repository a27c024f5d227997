// Hardening of every pod, the NetworkPolicies, and the rule that templates hard-code nothing a user
// would change.

import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { AGENT_ONLY, CHART, CONTROL_PLANE_ONLY, DEFAULT_MODE, EVERYTHING, NAMESPACE, byKind, env, one, podSpec, render, workloads, type K8sObject, type Values } from './support.ts';

const MODES: [string, Values][] = [
  ['defaults', DEFAULT_MODE],
  ['control plane only', CONTROL_PLANE_ONLY],
  ['agent only', AGENT_ONLY],
  ['every option', EVERYTHING],
];

const rendered = new Map<string, K8sObject[]>();
beforeAll(async () => {
  for (const [name, values] of MODES) rendered.set(name, await render(values));
});

interface Container {
  name: string;
  ports?: { name?: string; containerPort: number }[];
  securityContext?: Record<string, unknown> & { capabilities?: { drop?: string[]; add?: string[] } };
  volumeMounts?: { name: string; mountPath: string }[];
  livenessProbe?: Probe;
  readinessProbe?: Probe;
  startupProbe?: Probe;
}
interface Probe {
  httpGet?: { path: string; port: string | number };
  exec?: unknown;
}

function containersOf(w: K8sObject): Container[] {
  const spec = podSpec(w);
  return [...(spec.initContainers ?? []), ...spec.containers] as Container[];
}

describe.each(MODES)('pod hardening (%s)', (mode) => {
  const objects = () => rendered.get(mode)!;

  it('pods: non-root uid, RuntimeDefault seccomp, no host namespaces or host paths', () => {
    expect(workloads(objects()).length).toBeGreaterThan(0);
    for (const w of workloads(objects())) {
      const spec = podSpec(w);
      const what = `${w.kind}/${w.metadata.name}`;
      expect(spec.securityContext, what).toMatchObject({ runAsNonRoot: true, seccompProfile: { type: 'RuntimeDefault' } });
      expect(spec.securityContext.runAsUser, what).toBeGreaterThan(0);
      expect(spec.hostNetwork ?? false, what).toBe(false);
      expect(spec.hostPID ?? false, what).toBe(false);
      expect(spec.hostIPC ?? false, what).toBe(false);
      for (const v of spec.volumes ?? []) expect(v.hostPath, `${what} volume ${v.name}`).toBeUndefined();
    }
  });

  it('containers: read-only root, no privilege escalation, every capability dropped, /tmp an emptyDir', () => {
    for (const w of workloads(objects())) {
      const volumes = podSpec(w).volumes as { name: string; emptyDir?: { sizeLimit?: string } }[];
      for (const c of containersOf(w)) {
        const what = `${w.kind}/${w.metadata.name} ${c.name}`;
        expect(c.securityContext, what).toMatchObject({ readOnlyRootFilesystem: true, allowPrivilegeEscalation: false, seccompProfile: { type: 'RuntimeDefault' } });
        expect(c.securityContext?.privileged ?? false, what).toBe(false);
        expect(c.securityContext?.capabilities?.drop, what).toEqual(['ALL']);
        expect(c.securityContext?.capabilities?.add, what).toBeUndefined();
        const tmp = c.volumeMounts?.find((m) => m.mountPath === '/tmp');
        expect(tmp, `${what} mounts /tmp`).toBeTruthy();
        expect(volumes.find((v) => v.name === tmp!.name)?.emptyDir?.sizeLimit, `${what} /tmp is a bounded emptyDir`).toBeTruthy();
      }
    }
  });

  it('long-running containers have liveness and readiness probes on a declared port; Jobs have a deadline', () => {
    for (const w of workloads(objects())) {
      for (const c of containersOf(w)) {
        const what = `${w.kind}/${w.metadata.name} ${c.name}`;
        if (w.kind === 'Job') {
          // Run-to-completion: no traffic to be ready for; a hang is ended by the deadline.
          expect(w.spec.activeDeadlineSeconds, what).toBeGreaterThan(0);
          continue;
        }
        for (const probe of [c.livenessProbe, c.readinessProbe]) {
          expect(probe, what).toBeTruthy();
          const port = probe!.httpGet!.port;
          expect(c.ports?.some((p) => p.name === port || p.containerPort === port), `${what} probe port ${port}`).toBe(true);
        }
        expect(c.livenessProbe!.httpGet!.path).toBe('/-/healthy');
        expect(c.readinessProbe!.httpGet!.path).toBe('/-/ready');
      }
    }
  });

  it('every container has requests; memory is always limited', () => {
    for (const w of workloads(objects())) {
      for (const c of podSpec(w).containers as K8sObject[]) {
        expect(c.resources?.requests?.cpu, `${w.metadata.name} cpu request`).toBeTruthy();
        expect(c.resources?.requests?.memory, `${w.metadata.name} memory request`).toBeTruthy();
        expect(c.resources?.limits?.memory, `${w.metadata.name} memory limit`).toBeTruthy();
      }
    }
  });

  it('a service-account token is mounted only where the Kubernetes API is used (analyzer Lease, agent)', () => {
    for (const w of workloads(objects())) {
      const uses = w.metadata.name.endsWith('-agent') || w.metadata.name.endsWith('-analyzer');
      expect(podSpec(w).automountServiceAccountToken, `${w.kind}/${w.metadata.name}`).toBe(uses);
    }
  });

  it('every pod is selected by exactly one NetworkPolicy, restricting both directions', () => {
    const policies = byKind(objects(), 'NetworkPolicy');
    for (const w of workloads(objects())) {
      const labels = w.spec.template.metadata.labels as Record<string, string>;
      const selecting = policies.filter((p) => Object.entries(p.spec.podSelector.matchLabels as Record<string, string>).every(([k, v]) => labels[k] === v));
      expect(selecting.map((p) => p.metadata.name), `${w.kind}/${w.metadata.name}`).toHaveLength(1);
      expect(selecting[0].spec.policyTypes).toEqual(['Ingress', 'Egress']);
    }
  });
});

type Rule = { ports?: { port: number | string; protocol?: string }[]; to?: unknown[]; from?: unknown[] };
const portsOf = (rules: Rule[] | undefined) => (rules ?? []).flatMap((r) => (r.ports ?? []).map((p) => `${p.port}/${p.protocol ?? 'TCP'}`)).sort();

describe('NetworkPolicies', () => {
  it('ingress only to the receiver port; the analyzer and the migration reach PostgreSQL and DNS (+ the API server for the Lease)', () => {
    const objects = rendered.get('defaults')!;
    const receiver = one(objects, 'NetworkPolicy', 'trimtab-receiver');
    expect(receiver.spec.ingress).toEqual([{ ports: [{ port: 9201, protocol: 'TCP' }] }]);
    expect(portsOf(receiver.spec.egress)).toEqual(['53/TCP', '53/UDP', '5432/TCP']);

    const analyzer = one(objects, 'NetworkPolicy', 'trimtab-analyzer');
    expect(analyzer.spec.ingress).toEqual([{ ports: [{ port: 9203, protocol: 'TCP' }] }]);
    expect(portsOf(analyzer.spec.egress)).toEqual(['443/TCP', '53/TCP', '53/UDP', '5432/TCP', '6443/TCP']);

    const migrate = one(objects, 'NetworkPolicy', 'trimtab-migrate');
    expect(migrate.spec.ingress).toBeUndefined();
    expect(portsOf(migrate.spec.egress)).toEqual(['53/TCP', '53/UDP', '5432/TCP']);
  });

  it('the analyzer gets no API-server egress without Kubernetes leader election', async () => {
    const objects = await render({ analyzer: { leaderElection: { mode: 'postgres' } } });
    expect(portsOf(one(objects, 'NetworkPolicy', 'trimtab-analyzer').spec.egress)).toEqual(['53/TCP', '53/UDP', '5432/TCP']);
  });

  it('agent: kubelets, the API server, DNS, and this release’s receiver pods', () => {
    const np = one(rendered.get('defaults')!, 'NetworkPolicy', 'trimtab-agent');
    expect(np.spec.ingress).toEqual([{ ports: [{ port: 9202, protocol: 'TCP' }] }]);
    expect(portsOf(np.spec.egress)).toEqual(['10250/TCP', '443/TCP', '53/TCP', '53/UDP', '6443/TCP', '9201/TCP']);
    const toReceiver = (np.spec.egress as Rule[]).find((r) => r.ports?.some((p) => p.port === 9201))!;
    expect(toReceiver.to).toEqual([{ podSelector: { matchLabels: { 'app.kubernetes.io/name': 'trimtab', 'app.kubernetes.io/instance': 'trimtab', 'app.kubernetes.io/component': 'receiver' } } }]);
  });

  it('agent only: the remote receiver’s port instead of a pod selector', () => {
    const np = one(rendered.get('agent only')!, 'NetworkPolicy', 'trimtab-agent');
    expect(portsOf(np.spec.egress)).toEqual(['10250/TCP', '443/TCP', '443/TCP', '53/TCP', '53/UDP', '6443/TCP']);
    expect(JSON.stringify(np.spec.egress)).not.toContain('podSelector');
  });

  it('peers from values narrow the rules; disabled renders none', async () => {
    const pg = { ipBlock: { cidr: '10.20.0.0/16' } };
    const ingressCtl = { namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'kong' } } };
    const objects = await render({ networkPolicy: { database: { to: [pg] }, receiver: { from: [ingressCtl] } } });
    const receiver = one(objects, 'NetworkPolicy', 'trimtab-receiver');
    expect(receiver.spec.ingress).toEqual([{ from: [ingressCtl], ports: [{ port: 9201, protocol: 'TCP' }] }]);
    expect(receiver.spec.egress).toContainEqual({ to: [pg], ports: [{ port: 5432, protocol: 'TCP' }] });
    expect(byKind(await render({ networkPolicy: { enabled: false } }), 'NetworkPolicy')).toEqual([]);
  });
});

describe('nothing a user would change is hard-coded', () => {
  it('ports, replicas, resources, hosts and images all follow values', async () => {
    const objects = await render({
      image: { repository: 'registry.internal/tt', tag: '1.2.3' },
      database: { port: 6432 },
      receiver: {
        port: 8080,
        replicas: 4,
        autoscaling: { enabled: false },
        service: { port: 80 },
        resources: { requests: { cpu: '2', memory: '2Gi' }, limits: { memory: '3Gi' } },
        ingress: { enabled: true, hosts: ['rw.corp.internal'] },
      },
      analyzer: { port: 8081, replicas: 3 },
      agent: { port: 8082, resources: { requests: { cpu: '50m', memory: '200Mi' }, limits: { cpu: '50m', memory: '200Mi' } }, kubelet: { port: 10255 } },
    });
    const receiver = one(objects, 'Deployment', 'trimtab-receiver');
    const rc = podSpec(receiver).containers[0];
    expect(receiver.spec.replicas).toBe(4);
    expect(rc.ports[0].containerPort).toBe(8080);
    expect(env(rc, 'TRIMTAB_LISTEN')).toBe('0.0.0.0:8080');
    expect(rc.resources).toEqual({ requests: { cpu: '2', memory: '2Gi' }, limits: { memory: '3Gi' } });
    expect(one(objects, 'Service', 'trimtab-receiver').spec.ports[0]).toMatchObject({ port: 80, targetPort: 'http' });
    expect(one(objects, 'Ingress', 'trimtab-receiver').spec.rules[0].host).toBe('rw.corp.internal');

    const analyzer = one(objects, 'Deployment', 'trimtab-analyzer');
    expect(analyzer.spec.replicas).toBe(3);
    expect(podSpec(analyzer).containers[0].ports[0].containerPort).toBe(8081);
    expect(env(podSpec(analyzer).containers[0], 'TRIMTAB_ANALYZER_LISTEN')).toBe('0.0.0.0:8081');

    const agent = podSpec(one(objects, 'DaemonSet', 'trimtab-agent')).containers[0];
    expect(agent.ports[0].containerPort).toBe(8082);
    expect(env(agent, 'TRIMTAB_AGENT_LISTEN')).toBe('0.0.0.0:8082');
    expect(env(agent, 'TRIMTAB_REMOTE_WRITE_URL')).toBe(`http://trimtab-receiver.${NAMESPACE}.svc:80/api/v1/write`);
    expect(agent.resources.limits.memory).toBe('200Mi');
    for (const w of workloads(objects)) expect(podSpec(w).containers[0].image).toBe('registry.internal/tt:1.2.3');

    expect(portsOf(one(objects, 'NetworkPolicy', 'trimtab-receiver').spec.ingress)).toEqual(['8080/TCP']);
    expect(portsOf(one(objects, 'NetworkPolicy', 'trimtab-receiver').spec.egress)).toContain('6432/TCP');
    expect(portsOf(one(objects, 'NetworkPolicy', 'trimtab-analyzer').spec.ingress)).toEqual(['8081/TCP']);
    const agentNp = one(objects, 'NetworkPolicy', 'trimtab-agent');
    expect(portsOf(agentNp.spec.ingress)).toEqual(['8082/TCP']);
    expect(portsOf(agentNp.spec.egress)).toEqual(expect.arrayContaining(['10255/TCP', '8080/TCP']));
  });

  it('templates contain no literal default port, image, domain, replica count or resource amount', () => {
    const dir = join(CHART, 'templates');
    const forbidden: [RegExp, string][] = [
      [/\b(9201|9202|9203|5432|6443)\b/, 'a port (take it from values)'],
      [/ghcr\.io|docker\.io|quay\.io|:latest\b/, 'an image (take it from values.image)'],
      [/example\.(com|org)|\.cluster\.local/, 'a domain'],
      [/replicas:\s*\d/, 'a replica count'],
      [/\b(cpu|memory):\s*["']?\d/, 'a resource amount'],
      [/\b\d+(Mi|Gi|Ki)\b(?!")/, 'a size'],
    ];
    for (const file of readdirSync(dir)) {
      const lines = readFileSync(join(dir, file), 'utf8').split('\n');
      lines.forEach((line, i) => {
        for (const [re, what] of forbidden) expect(re.test(line), `${file}:${i + 1} hard-codes ${what}: ${line.trim()}`).toBe(false);
        // 10250 appears once: the agent's own compiled-in kubelet port, to know when the URL must be set.
        if (/\b10250\b/.test(line)) expect(line, `${file}:${i + 1}`).toContain('ne (int $g.kubelet.port) 10250');
      });
    }
  });
});
