// Expanding alerting rules' label and annotation templates, as Prometheus does per alert: the text is
// compiled once (template.ts, Go text/template semantics with Prometheus' functions), executed with
// $labels, $value, $externalLabels and $externalURL, and the `query` function runs PromQL at the
// evaluation time over the tenant's data. A template that fails expands to
// `<error expanding template: …>` and the alert still fires, as in Prometheus.

import type { Engine } from '../promql/engine.ts';
import { labelsToRecord } from '../promql/labels.ts';
import type { Queryable } from '../promql/queryable.ts';
import type { AlertExpander } from './alerting.ts';
import { compileTemplate, type CompiledTemplate, type TemplateQuery } from './template.ts';

/** Compiled templates (or their compile errors) by name and text; share one across evaluations. */
export type TemplateCache = Map<string, CompiledTemplate | Error>;

export interface AlertTemplateOptions {
  externalLabels: Record<string, string>;
  externalURL: string;
  engine: Engine;
  queryable: Queryable;
  /** Default: a cache of this expander's own. */
  cache?: TemplateCache;
}

/** Returns, per evaluation time, the expander the alerting rules use. Compiled templates are cached. */
export function expandAlertTemplates(options: AlertTemplateOptions): (ts: number) => AlertExpander {
  const compiled: TemplateCache = options.cache ?? new Map();
  const compile = (name: string, text: string): CompiledTemplate | Error => {
    const key = `${name}\u0000${text}`;
    let t = compiled.get(key);
    if (t === undefined) {
      try {
        t = compileTemplate(name, text);
      } catch (error) {
        t = error instanceof Error ? error : new Error(String(error));
      }
      compiled.set(key, t);
    }
    return t;
  };
  return (ts) => {
    const query: TemplateQuery = async (expr) => {
      const { value } = await options.engine.instantQuery(options.queryable, expr, ts);
      if (value.resultType === 'vector') return value.result.map((s) => ({ labels: labelsToRecord(s.metric), value: s.v }));
      if (value.resultType === 'scalar') return [{ labels: {}, value: value.result.v }];
      throw new Error(`query ${JSON.stringify(expr)} returned a ${value.resultType}, not a vector or scalar`);
    };
    return async (alertName, templates, labels, value) => {
      const out: Record<string, string> = {};
      const data = { labels, value, externalLabels: options.externalLabels, externalURL: options.externalURL };
      for (const [name, text] of Object.entries(templates)) {
        const t = compile(`__alert_${alertName}`, text);
        if (t instanceof Error) {
          out[name] = `<error expanding template: ${t.message}>`;
          continue;
        }
        try {
          out[name] = await t.execute(data, { query, now: ts });
        } catch (error) {
          out[name] = `<error expanding template: ${error instanceof Error ? error.message : String(error)}>`;
        }
      }
      return out;
    };
  };
}
