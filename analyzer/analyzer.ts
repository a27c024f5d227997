// The analyzer role: loads the rule files, takes part in leader election, and while leading runs the
// rule scheduler with a fenced term. Rule files are reloaded on request (SIGHUP, wired by the CLI) and
// when a watched file changes; a set that fails validation is reported with file, line and reason and
// the previous good set stays active (Prometheus' behaviour on reload).

import { watch, type FSWatcher } from 'node:fs';
import { dirname, resolve } from 'node:path';
import type { Registry } from 'prom-client';
import type { Logger } from '../lib/log.ts';
import { Engine } from '../promql/engine.ts';
import type { Driver } from '../storage/driver.ts';
import type { Storage } from '../storage/types.ts';
import type { LeaderElectionConfig } from './config.ts';
import { createLeaderElector } from './election.ts';
import { createAnalyzerMetrics, type AnalyzerMetrics } from './export.ts';
import { assertFence, tokenOf } from './fencing.ts';
import type { LeaderElector } from './leader-election.ts';
import { consolidationRecommender } from './consolidation-recommender.ts';
import { contractAssembler } from './recommendations.ts';
import { loadRuleFiles } from './rule-file.ts';
import type { RuleFile } from './rule-types.ts';
import { RuleScheduler } from './scheduler.ts';

export interface AnalyzerOptions {
  storage: Storage;
  /** The storage's driver: the PostgreSQL lease, and the fence in every mode. */
  driver: Driver;
  logger: Logger;
  registry: Registry;
  election: LeaderElectionConfig;
  /** Globs of rule files. */
  ruleFiles: readonly string[];
  /** Default group interval, ms (Prometheus' global evaluation_interval). */
  evaluationIntervalMs: number;
  externalLabels?: Record<string, string>;
  externalURL?: string;
  /** Engine limits for rule evaluation. */
  query?: { maxSamples?: number; timeoutMs?: number; lookbackDeltaMs?: number };
  /** Watch the rule files' directories and reload on change (default true). */
  watch?: boolean;
  /** Prometheus' --rules.alert.for-outage-tolerance (default 1h) and --rules.alert.for-grace-period (10m). */
  outageToleranceMs?: number;
  forGracePeriodMs?: number;
  /** How often node consolidation is planned (default 5m). */
  consolidationIntervalMs?: number;
  /**
   * How often the leader compacts closed days of samples (storage/compaction.ts; default 15m; 0 turns it
   * off), and how long after a UTC day ends it is compacted (default 1h).
   */
  compactionIntervalMs?: number;
  compactionGraceMs?: number;
}

/** Default interval of storage compaction on the leader. */
export const DEFAULT_COMPACTION_INTERVAL_MS = 15 * 60_000;
/** First compaction after a term starts (not at once: the first rule evaluations come first). */
const FIRST_COMPACTION_DELAY_MS = 60_000;

export interface RuleLoadStatus {
  ok: boolean;
  files: string[];
  groups: number;
  rules: number;
  error?: string;
  loadedAt: number;
}

export class Analyzer {
  readonly #options: AnalyzerOptions;
  readonly #log: Logger;
  readonly #metrics: AnalyzerMetrics;
  readonly scheduler: RuleScheduler;
  #elector: LeaderElector | null = null;
  #noElection: AbortController | null = null;
  #watchers: FSWatcher[] = [];
  #reloadTimer: NodeJS.Timeout | null = null;
  #reloading: Promise<RuleLoadStatus> | null = null;
  #leading = false;
  #compacting: Promise<void> | null = null;
  lastLoad: RuleLoadStatus | null = null;

  constructor(options: AnalyzerOptions) {
    this.#options = options;
    this.#log = options.logger.child({ component: 'analyzer' });
    this.#metrics = createAnalyzerMetrics(options.registry);
    const engine = new Engine({
      maxSamples: options.query?.maxSamples,
      timeout: options.query?.timeoutMs,
      lookbackDelta: options.query?.lookbackDeltaMs,
      noStepSubqueryInterval: options.evaluationIntervalMs,
    });
    this.scheduler = new RuleScheduler({
      storage: options.storage,
      engine,
      logger: options.logger,
      metrics: this.#metrics,
      externalLabels: options.externalLabels,
      externalURL: options.externalURL,
      assembler: contractAssembler,
      outageToleranceMs: options.outageToleranceMs,
      forGracePeriodMs: options.forGracePeriodMs,
      builtins: [consolidationRecommender({ metrics: this.#metrics, intervalMs: options.consolidationIntervalMs })],
    });
  }

  /** Whether this replica evaluates rules now. */
  get leading(): boolean {
    return this.#leading;
  }

  /** Loads the rules (throws on invalid files: a replica must not start with a broken set), then elects. */
  async start(): Promise<void> {
    const files = await loadRuleFiles(this.#options.ruleFiles, { defaultIntervalMs: this.#options.evaluationIntervalMs });
    this.#install(files);
    if (this.#options.watch ?? true) this.#watch(files);
    const elector = createLeaderElector(this.#options.election, {
      driver: this.#options.driver,
      logger: this.#options.logger,
      registry: this.#options.registry,
      callbacks: {
        onStartedLeading: (leadership) => {
          const token = tokenOf(leadership);
          this.#leading = true;
          this.#metrics.clear();
          this.#log.info('leading: evaluating rules', { epoch: leadership.epoch });
          this.scheduler.start({ epoch: leadership.epoch, prelude: (tx) => assertFence(tx, token), signal: leadership.signal });
          this.#compactWhile(leadership.signal);
        },
        onStoppedLeading: () => {
          this.#leading = false;
          this.scheduler.stop();
          this.#metrics.clear();
          this.#log.info('stopped leading: rule evaluation paused');
        },
      },
    });
    if (elector) {
      this.#elector = elector;
      elector.start();
    } else {
      // No election (the only replica, e.g. `trimtab all` on the embedded store): one endless term.
      this.#noElection = new AbortController();
      this.#leading = true;
      this.scheduler.start({ epoch: 0, signal: this.#noElection.signal });
      this.#compactWhile(this.#noElection.signal);
    }
  }

  /**
   * Compacts closed days of samples at an interval until `signal` aborts (the term ends). One replica
   * does it (the leader); an advisory lock per day would serialise two anyway. A failure is logged and
   * retried at the next interval: the rows stay where they are, readable, until then.
   */
  #compactWhile(signal: AbortSignal): void {
    const interval = this.#options.compactionIntervalMs ?? DEFAULT_COMPACTION_INTERVAL_MS;
    if (interval <= 0) return;
    let timer: NodeJS.Timeout | null = null;
    const run = (): void => {
      timer = null;
      if (signal.aborted) return;
      this.#compacting = (async () => {
        try {
          const days = await this.#options.storage.compactor.compactClosedDays(Date.now(), this.#options.compactionGraceMs);
          if (days.length > 0) this.#log.info('storage compaction done', { days: days.map((d) => d.day), samples: days.reduce((n, d) => n + d.samples, 0) });
        } catch (error) {
          this.#log.warn('storage compaction failed; retried at the next interval', { error: error instanceof Error ? error.message : String(error) });
        } finally {
          this.#compacting = null;
          if (!signal.aborted) timer = setTimeout(run, interval).unref();
        }
      })();
    };
    timer = setTimeout(run, Math.min(interval, FIRST_COMPACTION_DELAY_MS)).unref();
    signal.addEventListener('abort', () => {
      if (timer) clearTimeout(timer);
    }, { once: true });
  }

  /** Re-reads the rule files; on failure keeps the running set and reports why. */
  reload(): Promise<RuleLoadStatus> {
    this.#reloading ??= (async () => {
      try {
        const files = await loadRuleFiles(this.#options.ruleFiles, { defaultIntervalMs: this.#options.evaluationIntervalMs });
        this.#install(files);
        this.#log.info('rule files reloaded', { files: files.map((f) => f.file), groups: this.lastLoad!.groups, rules: this.lastLoad!.rules });
        return this.lastLoad!;
      } catch (error) {
        const message = error instanceof Error ? error.message : String(error);
        this.#metrics.reload(false);
        this.#log.error('rule files refused; the previous rules stay active', { error: message });
        const status: RuleLoadStatus = { ...(this.lastLoad ?? { files: [], groups: 0, rules: 0, loadedAt: 0 }), ok: false, error: message };
        this.lastLoad = status;
        return status;
      } finally {
        this.#reloading = null;
      }
    })();
    return this.#reloading;
  }

  #install(files: RuleFile[]): void {
    this.scheduler.setRules(files);
    this.#metrics.reload(true);
    const groups = files.flatMap((f) => f.groups);
    this.lastLoad = { ok: true, files: files.map((f) => f.file), groups: groups.length, rules: groups.reduce((n, g) => n + g.rules.length, 0), loadedAt: Date.now() };
  }

  /** Watches the directories of the loaded files (ConfigMap updates swap a symlink in the directory). */
  #watch(files: RuleFile[]): void {
    const dirs = new Set(files.map((f) => dirname(resolve(f.file))));
    for (const dir of dirs) {
      try {
        const w = watch(dir, { persistent: false }, () => this.#scheduleReload());
        w.on('error', (error) => this.#log.warn('watching rule files failed', { dir, error: error.message }));
        this.#watchers.push(w);
      } catch (error) {
        this.#log.warn('cannot watch rule files; reload with SIGHUP', { dir, error: error instanceof Error ? error.message : String(error) });
      }
    }
  }

  #scheduleReload(): void {
    if (this.#reloadTimer) clearTimeout(this.#reloadTimer);
    // Editors and ConfigMap updates write in several steps: wait for them to settle.
    this.#reloadTimer = setTimeout(() => {
      this.#reloadTimer = null;
      void this.reload();
    }, 300);
    this.#reloadTimer.unref?.();
  }

  async stop(): Promise<void> {
    for (const w of this.#watchers) w.close();
    this.#watchers = [];
    if (this.#reloadTimer) clearTimeout(this.#reloadTimer);
    this.#noElection?.abort();
    this.scheduler.stop();
    await this.scheduler.idle();
    await this.#compacting;
    if (this.#elector) await this.#elector.stop();
    this.#leading = false;
  }
}
