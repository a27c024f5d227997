// Ingest throughput probe (not a test): `node storage/ingest-probe.ts`.
//
// Writes REQUESTS requests of SERIES series × 1 sample through IngestWriter into a fresh database on the
// local PostgreSQL (TRIMTAB_TEST_DATABASE_URL or postgres://postgres@127.0.0.1:5432/postgres), from WRITERS
// concurrent writers that each own a shard of the series (as Prometheus's shards do), with timestamps
// 15 s apart per round. Request bodies are encoded up front; decoding (protocol's decodeWriteRequest) is
// inside the measurement, like in the receiver. Prints samples/s for the first (series-creating) round and
// for the steady state, plus the pool size used.
//
// Environment: PROBE_REQUESTS (200), PROBE_SERIES (2000), PROBE_WRITERS (4), PROBE_POOL (8),
// PROBE_DRIVER (pg | pglite; default pg), PROBE_VERSION (1 | 2; default 1).

import { readFileSync } from 'node:fs';
import { DEFAULT_WRITE_LIMITS, decodeWriteRequest, encodeWriteRequestV1, encodeWriteRequestV2, type WriteRequestInput } from '../protocol/index.ts';
import { createTestDatabase, tempDataDir } from '../test/support/databases.ts';
import { openStorage } from './open.ts';

const REQUESTS = Number(process.env.PROBE_REQUESTS ?? 200);
const SERIES = Number(process.env.PROBE_SERIES ?? 2000);
const WRITERS = Number(process.env.PROBE_WRITERS ?? 4);
const POOL = Number(process.env.PROBE_POOL ?? 8);
const DRIVER = process.env.PROBE_DRIVER === 'pglite' ? 'pglite' : 'pg';
const VERSION = process.env.PROBE_VERSION === '2' ? 2 : 1;

const rounds = Math.ceil(REQUESTS / WRITERS);

/** Machine-wide CPU time in seconds from /proc/stat: busy (user+nice+system+irq+softirq+steal) and iowait. */
function cpu(): { busy: number; iowait: number } | null {
  try {
    const f = readFileSync('/proc/stat', 'utf8').split('\n')[0].trim().split(/\s+/).slice(1).map(Number);
    const [user, nice, system, , iowait, irq, softirq, steal] = f;
    return { busy: (user + nice + system + irq + softirq + (steal ?? 0)) / 100, iowait: iowait / 100 };
  } catch {
    return null;
  }
}
const start = Date.now() - rounds * 15_000 - 60_000;

function body(writer: number, round: number): Uint8Array {
  const input: WriteRequestInput = { series: [] };
  for (let i = 0; i < SERIES; i++) {
    input.series.push({
      labels: [
        { name: '__name__', value: i % 3 === 0 ? 'container_cpu_usage_seconds_total' : i % 3 === 1 ? 'container_memory_working_set_bytes' : 'kube_pod_container_resource_requests' },
        { name: 'container', value: `c${i % 7}` },
        { name: 'instance', value: `node-${writer}-${i % 50}.cluster.local:10250` },
        { name: 'job', value: 'kubelet' },
        { name: 'namespace', value: `ns-${i % 40}` },
        { name: 'pod', value: `pod-${writer}-${i}-7d9f8c6b5-x2x9z` },
      ],
      samples: [{ value: round * 15 + i * 0.001, timestamp: start + round * 15_000 }],
    });
  }
  return VERSION === 2 ? encodeWriteRequestV2(input) : encodeWriteRequestV1(input);
}

// Other work on the machine skews every figure: say how busy it was just before.
const idle0 = cpu();
await new Promise((r) => setTimeout(r, 1000));
const idle1 = cpu();
if (idle0 && idle1) console.log(`before the run: ${((idle1.busy - idle0.busy) * 100).toFixed(0)}% of one core busy with other work`);

const db = DRIVER === 'pg' ? await createTestDatabase() : null;
const dir = await tempDataDir('trimtab-probe-');
const storage = await openStorage({ databaseUrl: db?.url, dataDir: dir.path, poolMax: POOL });
try {
  await storage.migrate();
  const { tenant } = await storage.tenants.createTenant('probe');
  const bodies = Array.from({ length: WRITERS }, (_, w) => Array.from({ length: rounds }, (_, r) => body(w, r)));
  let written = 0;
  let requests = 0;
  const run = async (w: number, r: number) => {
    const req = decodeWriteRequest(VERSION, bodies[w][r]);
    const result = await storage.writer.write(tenant.id, req, DEFAULT_WRITE_LIMITS, Date.now());
    if (result.rejected.length > 0) throw new Error(`rejected: ${JSON.stringify(result.rejected)}`);
    written += result.written.samples;
    requests++;
  };

  // Round 0 creates the series (cold caches); the rest is the steady state a scrape loop produces.
  const t0 = performance.now();
  await Promise.all(Array.from({ length: WRITERS }, (_, w) => run(w, 0)));
  const t1 = performance.now();
  const c1 = cpu();
  const firstRound = written;
  await Promise.all(
    Array.from({ length: WRITERS }, async (_, w) => {
      for (let r = 1; r < rounds && w + r * WRITERS < REQUESTS; r++) await run(w, r);
    }),
  );
  const t2 = performance.now();
  const c2 = cpu();
  const steady = written - firstRound;
  const fmt = (n: number) => Math.round(n).toLocaleString('en-US');
  console.log(`driver=${DRIVER} rw=${VERSION}.0 writers=${WRITERS} pool=${POOL} series/request=${SERIES} requests=${requests}`);
  console.log(`first round (creates ${fmt(firstRound)} series): ${fmt(firstRound / ((t1 - t0) / 1000))} samples/s (${(t1 - t0).toFixed(0)} ms)`);
  console.log(`steady state: ${fmt(steady)} samples in ${((t2 - t1) / 1000).toFixed(2)} s = ${fmt(steady / ((t2 - t1) / 1000))} samples/s`);
  console.log(`overall: ${fmt(written / ((t2 - t0) / 1000))} samples/s`);
  if (c1 && c2) {
    const busy = c2.busy - c1.busy;
    console.log(`steady-state CPU (whole machine, Node + PostgreSQL): ${((busy / steady) * 1e6).toFixed(2)} CPU-s per million samples, ${((busy / ((t2 - t1) / 1000)) * 100).toFixed(0)}% of one core busy, iowait ${(c2.iowait - c1.iowait).toFixed(1)} s`);
  }
} finally {
  await storage.close();
  await db?.drop();
  await dir.remove();
}
