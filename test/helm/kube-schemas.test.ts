// Every rendered object validates against the Kubernetes OpenAPI schemas (kubernetes-models: one class per
// apiVersion/kind, `new Model(obj).validate()`), in every install mode. Custom resources of other projects
// (Kong, prometheus-operator) are not in those schemas; they get structural checks of their own, and any
// other kind the chart starts rendering makes the test fail until it is mapped here.

import { describe, expect, it } from 'vitest';
import { AGENT_ONLY, CONTROL_PLANE_ONLY, DEFAULT_MODE, EVERYTHING, render, type K8sObject, type Values } from './support.ts';

import * as appsV1 from 'kubernetes-models/apps/v1';
import * as autoscalingV2 from 'kubernetes-models/autoscaling/v2';
import * as batchV1 from 'kubernetes-models/batch/v1';
import * as networkingV1 from 'kubernetes-models/networking.k8s.io/v1';
import * as policyV1 from 'kubernetes-models/policy/v1';
import * as rbacV1 from 'kubernetes-models/rbac.authorization.k8s.io/v1';
import * as coreV1 from 'kubernetes-models/v1';

interface Validatable {
  validate(): void;
}
type ModelClass = new (data: never) => Validatable;

/** The API groups the chart renders, as kubernetes-models lays them out; a version not listed has no schema here. */
const GROUPS: Record<string, Record<string, unknown>> = {
  v1: coreV1,
  'apps/v1': appsV1,
  'autoscaling/v2': autoscalingV2,
  'batch/v1': batchV1,
  'networking.k8s.io/v1': networkingV1,
  'policy/v1': policyV1,
  'rbac.authorization.k8s.io/v1': rbacV1,
};

function modelClass(apiVersion: string, kind: string): ModelClass | undefined {
  const cls = GROUPS[apiVersion]?.[kind];
  return typeof cls === 'function' ? (cls as ModelClass) : undefined;
}

/** Custom resources the chart renders, with what their operators require of them. */
const CUSTOM: Record<string, (o: K8sObject) => void> = {
  'configuration.konghq.com/v1/KongPlugin': (o) => {
    expect(typeof o.plugin).toBe('string');
    expect(o.config).toBeTypeOf('object');
    expect(o.spec).toBeUndefined(); // KongPlugin has plugin/config at the top level, no spec
  },
  'monitoring.coreos.com/v1/ServiceMonitor': (o) => {
    expect(o.spec.selector.matchLabels).toBeTypeOf('object');
    for (const e of o.spec.endpoints) {
      expect(typeof e.port).toBe('string');
      expect(e.interval).toMatch(/^\d+(ms|s|m|h)$/);
    }
  },
  'monitoring.coreos.com/v1/PrometheusRule': (o) => {
    for (const g of o.spec.groups) {
      expect(typeof g.name).toBe('string');
      for (const r of g.rules) {
        expect(typeof (r.alert ?? r.record)).toBe('string');
        expect(typeof r.expr).toBe('string');
      }
    }
  },
};

const MODES: [string, Values][] = [
  ['defaults (control plane and agent)', DEFAULT_MODE],
  ['control plane only', CONTROL_PLANE_ONLY],
  ['agent only', AGENT_ONLY],
  ['every option', EVERYTHING],
  ['other choices', { migrations: { mode: 'startup' }, analyzer: { leaderElection: { mode: 'postgres' } }, receiver: { autoscaling: { enabled: false }, ingress: { enabled: true, tls: { enabled: false } } }, networkPolicy: { enabled: false } }],
];

describe.each(MODES)('Kubernetes schemas: %s', (_mode, values) => {
  it('every object validates against its kind’s schema', async () => {
    const objects = await render(values);
    expect(objects.length).toBeGreaterThan(0);
    for (const o of objects) {
      const what = `${o.apiVersion} ${o.kind}/${o.metadata?.name}`;
      const custom = CUSTOM[`${o.apiVersion}/${o.kind}`];
      if (custom) {
        expect(o.metadata.name, what).toBeTruthy();
        custom(o);
        continue;
      }
      const Model = modelClass(o.apiVersion, o.kind);
      expect(Model, `${what}: no schema for this apiVersion/kind (a removed API version, or a custom resource to add to CUSTOM)`).toBeTruthy();
      try {
        new Model!(o as never).validate();
      } catch (error) {
        throw new Error(`${what} does not validate: ${(error as Error).message}`, { cause: error });
      }
    }
  });
});

describe('the validator', () => {
  it('does catch a bad object (so a pass above means something)', async () => {
    const Deployment = modelClass('apps/v1', 'Deployment')!;
    const bad = { apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: 'x' }, spec: { replicas: 'three', selector: {}, template: {} } };
    expect(() => new Deployment(bad as never).validate()).toThrow(/replicas/);
    const Pod = modelClass('v1', 'Pod')!;
    const pod = { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'p' }, spec: { containers: [{ name: 'c', resources: { limits: { memory: { bad: 1 } } } }] } };
    expect(() => new Pod(pod as never).validate()).toThrow(/memory/);
  });
});
