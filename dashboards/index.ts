// Every Trimtab dashboard, the file its JSON is committed to, and the rendering of that JSON.

import type * as dashboard from '@grafana/grafana-foundation-sdk/dashboard';
import { healthDashboard, UID as HEALTH } from './health.ts';
import { nodesDashboard, UID as NODES } from './nodes.ts';
import { overviewDashboard, UID as OVERVIEW } from './overview.ts';
import { workloadDashboard, UID as WORKLOAD } from './workload.ts';

export interface DashboardSource {
  uid: string;
  /** File name in dashboards/. */
  file: string;
  build(): dashboard.Dashboard;
}

export const DASHBOARDS: readonly DashboardSource[] = [
  { uid: OVERVIEW, file: `${OVERVIEW}.json`, build: overviewDashboard },
  { uid: WORKLOAD, file: `${WORKLOAD}.json`, build: workloadDashboard },
  { uid: NODES, file: `${NODES}.json`, build: nodesDashboard },
  { uid: HEALTH, file: `${HEALTH}.json`, build: healthDashboard },
];

/** The committed form: two-space JSON with a final newline. */
export function render(d: dashboard.Dashboard): string {
  return `${JSON.stringify(d, null, 2)}\n`;
}

/** File name → JSON text of every dashboard. */
export function renderAll(): Map<string, string> {
  const out = new Map<string, string>();
  for (const s of DASHBOARDS) {
    const d = s.build();
    if (d.uid !== s.uid) throw new Error(`${s.file}: the dashboard's uid is ${JSON.stringify(d.uid)}, expected ${JSON.stringify(s.uid)}`);
    out.set(s.file, render(d));
  }
  return out;
}
