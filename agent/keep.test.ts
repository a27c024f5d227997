import { mkdtemp, mkdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_KEEP_METRICS, defaultKeepList, KeepList, KeepListError, keepListFromRuleFiles, namesFromRuleFile } from './keep.ts';

const RULES = `
groups:
  - name: k8s.rules.container_cpu_usage_seconds_total
    interval: 1m
    rules:
      - record: node_namespace_pod_container:container_cpu_usage_seconds_total:sum_rate5m
        expr: |
          sum by (cluster, namespace, pod, container) (
            rate(container_cpu_usage_seconds_total{job="kubelet", metrics_path="/metrics/cadvisor", image!=""}[5m])
          ) * on (cluster, namespace, pod) group_left(node) topk by (cluster, namespace, pod) (
            1, max by (cluster, namespace, pod, node) (kube_pod_info{node!=""})
          )
      - record: namespace_workload_pod:kube_pod_owner:relabel
        expr: |
          max by (cluster, namespace, workload, pod) (
            label_replace(kube_pod_owner{owner_kind="ReplicaSet"}, "replicaset", "$1", "owner_name", "(.*)")
            * on (replicaset, namespace) group_left(owner_name) topk by (replicaset, namespace) (1, max by (replicaset, namespace, owner_name) (kube_replicaset_owner))
          )
  - name: trimtab.recommendations
    rules:
      - alert: CPUThrottlingHigh
        expr: sum(increase(container_cpu_cfs_throttled_periods_total[5m])) by (pod) / sum(increase(container_cpu_cfs_periods_total[5m])) by (pod) > 0.25
        for: 15m
      - record: trimtab:cpu:p95
        # Reads a recorded series: computed server-side, not scraped.
        expr: quantile_over_time(0.95, node_namespace_pod_container:container_cpu_usage_seconds_total:sum_rate5m[14d])
      - alert: HPAMaxed
        expr: '{__name__=~"kube_horizontalpodautoscaler_status_(current|desired)_replicas"} > 0'
      - record: x
        expr: '{__name__="kube_node_status_allocatable"}'
`;

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'trimtab-rules-'));
  await mkdir(join(dir, 'rules'));
  await writeFile(join(dir, 'rules', 'a.yaml'), RULES);
  await writeFile(join(dir, 'rules', 'b.yaml'), 'groups:\n  - name: b\n    rules:\n      - record: y\n        expr: sum(node_memory_MemAvailable_bytes)\n');
  await writeFile(join(dir, 'bad.yaml'), 'groups:\n  - name: bad\n    rules:\n      - record: z\n        expr: sum(rate(x[5m])\n');
  await writeFile(join(dir, 'open.yaml'), 'groups:\n  - name: open\n    rules:\n      - record: w\n        expr: count({job="kubelet"})\n');
});
afterAll(() => rm(dir, { recursive: true, force: true }));

describe('the keep-list from rule files', () => {
  it('holds the metric names the expressions read, not the recorded ones', async () => {
    const { keep, files, warnings } = await keepListFromRuleFiles(['rules/*.yaml'], ['up'], dir);
    expect(files).toEqual(['rules/a.yaml', 'rules/b.yaml']);
    expect(warnings).toEqual([]);
    expect([...keep.names].sort()).toEqual([
      'container_cpu_cfs_periods_total',
      'container_cpu_cfs_throttled_periods_total',
      'container_cpu_usage_seconds_total',
      'kube_node_status_allocatable',
      'kube_pod_info',
      'kube_pod_owner',
      'kube_replicaset_owner',
      'node_memory_MemAvailable_bytes',
      'up',
    ]);
    expect(keep.patterns).toEqual(['kube_horizontalpodautoscaler_status_(current|desired)_replicas']);
    expect(keep.has('kube_horizontalpodautoscaler_status_current_replicas')).toBe(true);
    expect(keep.has('kube_horizontalpodautoscaler_status_current_replicas_x')).toBe(false); // anchored
    expect(keep.has('container_memory_rss')).toBe(false);
    expect(keep.has('node_namespace_pod_container:container_cpu_usage_seconds_total:sum_rate5m')).toBe(false);
  });

  it('keeps everything, with a warning, when a selector does not bound the metric name', async () => {
    const { keep, warnings } = await keepListFromRuleFiles([join(dir, 'open.yaml')], [], dir);
    expect(keep.keepAll).toBe(true);
    expect(keep.has('anything_at_all')).toBe(true);
    expect(warnings[0]).toMatch(/does not bound the metric name/);
    expect(keep.regexSource()).toBe('.+');
  });

  it('fails with the file, group and rule named on a bad expression, and on a pattern matching nothing', async () => {
    await expect(keepListFromRuleFiles(['bad.yaml'], [], dir)).rejects.toThrowError(KeepListError);
    await expect(keepListFromRuleFiles(['bad.yaml'], [], dir)).rejects.toThrowError(/bad.yaml: group "bad" rule 1/);
    await expect(keepListFromRuleFiles(['nope/*.yaml'], [], dir)).rejects.toThrowError(/matches no file/);
    await expect(namesFromRuleFile('not: [a rule file', 'x.yaml')).rejects.toThrowError(/x.yaml/);
    await expect(namesFromRuleFile('foo: bar', 'x.yaml')).rejects.toThrowError(/no "groups" list/);
  });
});

describe('the default keep-list', () => {
  it('is the rule pack inputs, and extras add names or patterns', () => {
    const keep = defaultKeepList(['my_metric', 'my_prefix_.*']);
    for (const n of DEFAULT_KEEP_METRICS.filter((x) => !x.endsWith('.*'))) expect(keep.has(n)).toBe(true);
    expect(keep.has('kube_poddisruptionbudget_status_pod_disruptions_allowed')).toBe(true);
    expect(keep.has('my_metric')).toBe(true);
    expect(keep.has('my_prefix_anything')).toBe(true);
    expect(keep.has('container_fs_reads_total')).toBe(false);
    expect(() => KeepList.fromEntries(['bad(['])).toThrowError(/invalid metric name pattern/);
  });
});
