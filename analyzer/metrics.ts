// The analyzer's leader-election metrics, on a prom-client registry passed in (the analyzer's /metrics):
//   trimtab_analyzer_leader{lease}                    1 while this replica leads, 0 otherwise
//   trimtab_analyzer_leader_transitions_total{lease}  times this replica's leader gauge changed
//                                                     (became leader or stopped being leader)

import { Counter, Gauge, type Registry } from 'prom-client';

export interface LeaderMetrics {
  setLeader(lease: string, leading: boolean): void;
}

export function createLeaderMetrics(registry: Registry): LeaderMetrics {
  const existingGauge = registry.getSingleMetric('trimtab_analyzer_leader');
  const existingCounter = registry.getSingleMetric('trimtab_analyzer_leader_transitions_total');
  const gauge =
    (existingGauge as Gauge<'lease'> | undefined) ??
    new Gauge({ name: 'trimtab_analyzer_leader', help: '1 when this analyzer replica is the leader, 0 otherwise.', labelNames: ['lease'], registers: [registry] });
  const counter =
    (existingCounter as Counter<'lease'> | undefined) ??
    new Counter({
      name: 'trimtab_analyzer_leader_transitions_total',
      help: 'Leadership transitions of this analyzer replica (became leader or stopped leading).',
      labelNames: ['lease'],
      registers: [registry],
    });
  const state = new Map<string, boolean>();
  return {
    setLeader(lease, leading) {
      const before = state.get(lease);
      state.set(lease, leading);
      gauge.set({ lease }, leading ? 1 : 0);
      if (before === undefined) counter.inc({ lease }, 0);
      else if (before !== leading) counter.inc({ lease });
    },
  };
}
