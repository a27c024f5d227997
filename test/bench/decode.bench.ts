// Remote-write decode benchmark: decoded samples per second on one core, for the hand-written 1.0 and
// 2.0 decoders against protobufjs (decode + conversion to the same DecodedWriteRequest shape), plus
// snappy decode MB/s (hand-written vs snappyjs) and encode throughput (hand-written vs protobufjs).
//
//   node test/bench/decode.bench.ts            (npm run bench:decode)
//   BENCH_SECONDS=1 node test/bench/decode.bench.ts   shorter runs
//
// The request is what a kubelet/cAdvisor scrape forwards (protocol/fixtures.ts cadvisorRequest): 2,000
// container_* series with 14 labels each (long cgroup ids, image names, pod names), 1 sample per series,
// and a second case with 10. The machine is shared with other work, so run it more than once.

import os from 'node:os';
import { uncompress as snappyjsUncompress } from 'snappyjs';
import {
  decodeWriteRequestV1,
  decodeWriteRequestV2,
  encodeWriteRequestV1,
  encodeWriteRequestV2,
  snappyDecode,
  snappyEncode,
  type DecodedWriteRequest,
} from '../../protocol/index.ts';
import { referenceDecode, schema, toProtobufjsV1, toProtobufjsV2 } from '../../protocol/schema.ts';
import { cadvisorRequest } from '../../protocol/fixtures.ts';

const SECONDS = Number(process.env.BENCH_SECONDS ?? 2.5);
const WARMUP_SECONDS = Math.min(0.75, SECONDS / 2);
const SERIES = 2000;

// ---------------------------------------------------------------------------------------------------
// Measurement

interface Result {
  opsPerSec: number;
  msPerOp: number;
}

let sink = 0;

function measure(fn: () => number): Result {
  const run = (seconds: number) => {
    const until = performance.now() + seconds * 1000;
    let ops = 0;
    const start = performance.now();
    while (performance.now() < until) {
      // Batches of a few calls keep the clock out of the measurement.
      for (let i = 0; i < 4; i++) sink += fn();
      ops += 4;
    }
    return { ops, ms: performance.now() - start };
  };
  run(WARMUP_SECONDS);
  const { ops, ms } = run(SECONDS);
  return { opsPerSec: (ops / ms) * 1000, msPerOp: ms / ops };
}

const fmtM = (n: number) => `${(n / 1e6).toFixed(2)} M`;
const rows: string[][] = [];
function row(...cells: string[]): void {
  rows.push(cells);
  console.error(`  ${cells.join('  ')}`);
}

// ---------------------------------------------------------------------------------------------------

console.error(`decode bench: ${SECONDS}s per case after ${WARMUP_SECONDS}s warm-up`);
const ratios: string[] = [];

for (const perSeries of [1, 10]) {
  const input = cadvisorRequest(SERIES, perSeries);
  const samples = SERIES * perSeries;
  const v1 = encodeWriteRequestV1(input);
  const v2 = encodeWriteRequestV2(input);
  const caseName = `${SERIES} series × ${perSeries}`;
  const labelsOfAll = (d: DecodedWriteRequest) => {
    let n = 0;
    for (let i = 0; i < d.series.length; i++) n += d.labelsOf(i).length;
    return n;
  };

  const hand1 = measure(() => decodeWriteRequestV1(v1).samples.length);
  row(caseName, 'decode 1.0 hand-written', `${(v1.length / 1024).toFixed(0)} KiB`, `${hand1.msPerOp.toFixed(3)} ms`, `${fmtM(hand1.opsPerSec * samples)} samples/s`);
  const hand1all = measure(() => {
    const d = decodeWriteRequestV1(v1);
    return d.samples.length + labelsOfAll(d);
  });
  row(caseName, 'decode 1.0 hand-written + labelsOf(all)', '', `${hand1all.msPerOp.toFixed(3)} ms`, `${fmtM(hand1all.opsPerSec * samples)} samples/s`);
  const warm1 = new Map<string, number>();
  decodeWriteRequestV1(v1).series.forEach((s, i) => warm1.set(s.key, i));
  const hit1 = measure(() => {
    const d = decodeWriteRequestV1(v1);
    let n = 0;
    for (const s of d.series) n += warm1.get(s.key) ?? 0;
    return n;
  });
  row(caseName, 'decode 1.0 hand-written + Map.get(key) per series', '', `${hit1.msPerOp.toFixed(3)} ms`, `${fmtM(hit1.opsPerSec * samples)} samples/s`);
  const pb1 = measure(() => referenceDecode(1, v1).samples.length);
  row(caseName, 'decode 1.0 protobufjs + convert', '', `${pb1.msPerOp.toFixed(3)} ms`, `${fmtM(pb1.opsPerSec * samples)} samples/s`);
  const hand2 = measure(() => decodeWriteRequestV2(v2).samples.length);
  row(caseName, 'decode 2.0 hand-written', `${(v2.length / 1024).toFixed(0)} KiB`, `${hand2.msPerOp.toFixed(3)} ms`, `${fmtM(hand2.opsPerSec * samples)} samples/s`);
  const hand2all = measure(() => {
    const d = decodeWriteRequestV2(v2);
    return d.samples.length + labelsOfAll(d);
  });
  row(caseName, 'decode 2.0 hand-written + labelsOf(all)', '', `${hand2all.msPerOp.toFixed(3)} ms`, `${fmtM(hand2all.opsPerSec * samples)} samples/s`);
  const warm2 = new Map<string, number>();
  decodeWriteRequestV2(v2).series.forEach((s, i) => warm2.set(s.key, i));
  const hit2 = measure(() => {
    const d = decodeWriteRequestV2(v2);
    let n = 0;
    for (const s of d.series) n += warm2.get(s.key) ?? 0;
    return n;
  });
  row(caseName, 'decode 2.0 hand-written + Map.get(key) per series', '', `${hit2.msPerOp.toFixed(3)} ms`, `${fmtM(hit2.opsPerSec * samples)} samples/s`);
  const pb2 = measure(() => referenceDecode(2, v2).samples.length);
  row(caseName, 'decode 2.0 protobufjs + convert', '', `${pb2.msPerOp.toFixed(3)} ms`, `${fmtM(pb2.opsPerSec * samples)} samples/s`);
  ratios.push(
    `${caseName}: hand-written / protobufjs = ${(hand1.opsPerSec / pb1.opsPerSec).toFixed(1)}× (1.0), ${(hand2.opsPerSec / pb2.opsPerSec).toFixed(1)}× (2.0)`,
  );

  for (const [name, body] of [
    ['1.0', v1],
    ['2.0', v2],
  ] as const) {
    const compressed = snappyEncode(body);
    const mb = body.length / 1e6;
    const hs = measure(() => snappyDecode(compressed, 64 << 20).length);
    const js = measure(() => snappyjsUncompress(compressed).length);
    row(caseName, `snappy ${name} body hand-written`, `${(compressed.length / 1024).toFixed(0)} KiB`, `${hs.msPerOp.toFixed(3)} ms`, `${(hs.opsPerSec * mb).toFixed(0)} MB/s`);
    row(caseName, `snappy ${name} body snappyjs`, '', `${js.msPerOp.toFixed(3)} ms`, `${(js.opsPerSec * mb).toFixed(0)} MB/s`);
    ratios.push(`${caseName}: snappy ${name} hand-written / snappyjs = ${(hs.opsPerSec / js.opsPerSec).toFixed(2)}×`);
  }

  if (perSeries === 1) {
    const e1 = measure(() => encodeWriteRequestV1(input).length);
    const pe1 = measure(() => schema.WriteRequestV1.encode(toProtobufjsV1(input)).finish().length);
    const e2 = measure(() => encodeWriteRequestV2(input).length);
    const pe2 = measure(() => schema.RequestV2.encode(toProtobufjsV2(input)).finish().length);
    row(caseName, 'encode 1.0 hand-written', '', `${e1.msPerOp.toFixed(3)} ms`, `${fmtM(e1.opsPerSec * samples)} samples/s`);
    row(caseName, 'encode 1.0 protobufjs (+ object conversion)', '', `${pe1.msPerOp.toFixed(3)} ms`, `${fmtM(pe1.opsPerSec * samples)} samples/s`);
    row(caseName, 'encode 2.0 hand-written', '', `${e2.msPerOp.toFixed(3)} ms`, `${fmtM(e2.opsPerSec * samples)} samples/s`);
    row(caseName, 'encode 2.0 protobufjs (+ object conversion)', '', `${pe2.msPerOp.toFixed(3)} ms`, `${fmtM(pe2.opsPerSec * samples)} samples/s`);
  }
}

const widths = rows[0].map((_, i) => Math.max(...rows.map((r) => r[i].length)));
const line = (r: string[]) => `| ${r.map((c, i) => c.padEnd(widths[i])).join(' | ')} |`;
console.log(`\nmachine: ${os.cpus()[0]?.model ?? 'unknown'} (${os.cpus().length} cpus), node ${process.version}, ${os.platform()} ${os.arch()}; one core, ${SECONDS}s per case\n`);
console.log(line(['case', 'what', 'size', 'per request', 'throughput']));
console.log(`|${widths.map((w) => '-'.repeat(w + 2)).join('|')}|`);
for (const r of rows) console.log(line(r));
console.log('');
for (const r of ratios) console.log(r);
if (sink === 42) console.log('');
