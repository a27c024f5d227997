// `trimtab agent config`: the remote-write configuration for customers who keep their own Prometheus or
// Grafana Alloy instead of running the agent. Both keep only the series the rules need (the keep-list),
// drop cAdvisor series of cgroups that are not Kubernetes containers (no `pod` label), and, when a
// cluster name is given, add `cluster` to series that lack it.
//
//  - Prometheus: a `remote_write:` block to paste into prometheus.yml (it passes `promtool check config`
//    inside a minimal full config; the test runs the real promtool).
//  - Alloy: a `prometheus.remote_write` component; point your `prometheus.scrape` components'
//    `forward_to` at `prometheus.remote_write.trimtab.receiver`.

import { defaultKeepList, type KeepList } from './keep.ts';

export interface GenerateConfigOptions {
  format: 'prometheus' | 'alloy';
  remoteWriteUrl: string;
  bearerTokenFile?: string;
  /** Added as `cluster` to series that do not have one. */
  cluster?: string;
  /** Which metric names to keep; default: the built-in rule pack inputs. */
  keep?: KeepList;
}

/** Rule that drops cAdvisor series of non-container cgroups (`container_*` without `pod`). */
const NON_POD_CONTAINERS = 'container_.*;';

function yamlSingle(s: string): string {
  return `'${s.replace(/'/g, "''")}'`;
}

function alloyString(s: string): string {
  return `"${s.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n')}"`;
}

export function generateConfig(options: GenerateConfigOptions): string {
  const url = new URL(options.remoteWriteUrl); // throws on a bad URL
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new Error(`--remote-write-url must be http(s), got ${url.protocol}`);
  const keep = options.keep ?? defaultKeepList();
  const regex = keep.regexSource();
  return options.format === 'alloy' ? alloy(options, regex) : prometheus(options, regex);
}

function prometheus(o: GenerateConfigOptions, regex: string): string {
  const lines = [
    '# Trimtab: send only the series the recommendation rules read.',
    'remote_write:',
    `  - url: ${yamlSingle(o.remoteWriteUrl)}`,
    '    name: trimtab',
  ];
  if (o.bearerTokenFile) {
    lines.push('    authorization:', '      type: Bearer', `      credentials_file: ${yamlSingle(o.bearerTokenFile)}`);
  }
  lines.push(
    '    write_relabel_configs:',
    '      # Keep the metric names the rules read.',
    '      - source_labels: [__name__]',
    `        regex: ${yamlSingle(regex)}`,
    '        action: keep',
    '      # cAdvisor series of cgroups that are not Kubernetes containers.',
    '      - source_labels: [__name__, pod]',
    `        regex: ${yamlSingle(NON_POD_CONTAINERS)}`,
    '        action: drop',
  );
  if (o.cluster) {
    lines.push(
      '      # Name the cluster on series that do not say.',
      '      - source_labels: [cluster]',
      "        regex: ''",
      '        target_label: cluster',
      `        replacement: ${yamlSingle(o.cluster)}`,
      '        action: replace',
    );
  }
  lines.push('    metadata_config:', '      send: true', '');
  return lines.join('\n');
}

function alloy(o: GenerateConfigOptions, regex: string): string {
  const lines = [
    '// Trimtab: send only the series the recommendation rules read.',
    '// Point prometheus.scrape components at it: forward_to = [prometheus.remote_write.trimtab.receiver]',
    'prometheus.remote_write "trimtab" {',
    '  endpoint {',
    `    url = ${alloyString(o.remoteWriteUrl)}`,
  ];
  if (o.bearerTokenFile) lines.push(`    bearer_token_file = ${alloyString(o.bearerTokenFile)}`);
  lines.push(
    '',
    '    // Keep the metric names the rules read.',
    '    write_relabel_config {',
    '      source_labels = ["__name__"]',
    `      regex         = ${alloyString(regex)}`,
    '      action        = "keep"',
    '    }',
    '',
    '    // cAdvisor series of cgroups that are not Kubernetes containers.',
    '    write_relabel_config {',
    '      source_labels = ["__name__", "pod"]',
    `      regex         = ${alloyString(NON_POD_CONTAINERS)}`,
    '      action        = "drop"',
    '    }',
    '  }',
  );
  if (o.cluster) lines.push('', '  external_labels = {', `    cluster = ${alloyString(o.cluster)},`, '  }');
  lines.push('}', '');
  return lines.join('\n');
}
