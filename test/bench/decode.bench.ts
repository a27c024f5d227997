// Remote-write decode benchmark: decoded samples per second on one core, for the hand-written 1.0 and
// 2.0 decoders against protobufjs (decode + conversion to the same DecodedWriteRequest shape), plus
// snappy decode MB/s (hand-written vs snappyjs) and encode throughput (hand-written vs protobufjs).
//
//   node test/bench/decode.bench.ts                   (npm run bench:decode)
//   BENCH_SECONDS=1 node test/bench/decode.bench.ts   shorter runs
//
// The request is what a kubelet/cAdvisor scrape forwards (protocol/fixtures.ts cadvisorRequest): 2,000
// container_* series with 14 labels each (long cgroup ids, image names, pod names), 1 sample per series,
// and a second case with 10. Contenders of one comparison run in interleaved rounds and the best round
// is reported (with the median), so other work on a shared machine disturbs the ratios less.

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
const WARMUP_SECONDS = Math.min(1, SECONDS / 2);
const ROUNDS = 5;
const SERIES = 2000;

// ---------------------------------------------------------------------------------------------------
// Measurement

interface Result {
  /** Best round (least disturbed by other work on the machine). */
  msPerOp: number;
  opsPerSec: number;
  medianMsPerOp: number;
}

let sink = 0;

function runFor(fn: () => number, seconds: number): number {
  const until = performance.now() + seconds * 1000;
  let ops = 0;
  const start = performance.now();
  while (performance.now() < until) {
    // Batches of a few calls keep the clock out of the measurement.
    for (let i = 0; i < 4; i++) sink += fn();
    ops += 4;
  }
  return (performance.now() - start) / ops;
}

/** Warms each contender up, then runs them in ROUNDS interleaved rounds of SECONDS/ROUNDS each. */
function compare(fns: (() => number)[]): Result[] {
  for (const fn of fns) runFor(fn, WARMUP_SECONDS);
  const rounds: number[][] = fns.map(() => []);
  for (let r = 0; r < ROUNDS; r++) fns.forEach((fn, i) => rounds[i].push(runFor(fn, SECONDS / ROUNDS)));
  return rounds.map((rs) => {
    rs.sort((a, b) => a - b);
    return { msPerOp: rs[0], opsPerSec: 1000 / rs[0], medianMsPerOp: rs[Math.floor(rs.length / 2)] };
  });
}

const ms = (r: Result) => `${r.msPerOp.toFixed(3)} / ${r.medianMsPerOp.toFixed(3)} ms`;
const perSec = (r: Result, n: number) => `${((r.opsPerSec * n) / 1e6).toFixed(2)} M samples/s`;
const mbPerSec = (r: Result, bytes: number) => `${((r.opsPerSec * bytes) / 1e6).toFixed(0)} MB/s`;
const kib = (n: number) => `${(n / 1024).toFixed(0)} KiB`;
const rows: string[][] = [];
function row(...cells: string[]): void {
  rows.push(cells);
  console.error(`  ${cells.join('  ')}`);
}

// ---------------------------------------------------------------------------------------------------

console.error(`decode bench: ${WARMUP_SECONDS}s warm-up + ${ROUNDS} interleaved rounds in ${SECONDS}s per contender`);
const ratios: string[] = [];

const labelsOfAll = (d: DecodedWriteRequest) => {
  let n = 0;
  for (let i = 0; i < d.series.length; i++) n += d.labelsOf(i).length;
  return n;
};
/** What the writer's series cache does on a hit: look every key up in a Map. */
const lookupAll = (d: DecodedWriteRequest, cache: Map<string, number>) => {
  let n = 0;
  for (const s of d.series) n += cache.get(s.key) ?? 0;
  return n;
};

for (const perSeries of [1, 10]) {
  const input = cadvisorRequest(SERIES, perSeries);
  const samples = SERIES * perSeries;
  const c = `${SERIES} series × ${perSeries}`;

  for (const version of [1, 2] as const) {
    const body = version === 1 ? encodeWriteRequestV1(input) : encodeWriteRequestV2(input);
    const decode = version === 1 ? decodeWriteRequestV1 : decodeWriteRequestV2;
    const cache = new Map<string, number>();
    decode(body).series.forEach((s, i) => cache.set(s.key, i));
    const [hand, pbjs, withLabels, withLookup] = compare([
      () => decode(body).samples.length,
      () => referenceDecode(version, body).samples.length,
      () => labelsOfAll(decode(body)),
      () => lookupAll(decode(body), cache),
    ]);
    row(c, `decode ${version}.0 hand-written`, kib(body.length), ms(hand), perSec(hand, samples));
    row(c, `decode ${version}.0 protobufjs + conversion`, '', ms(pbjs), perSec(pbjs, samples));
    row(c, `decode ${version}.0 hand-written + labelsOf() of every series`, '', ms(withLabels), perSec(withLabels, samples));
    row(c, `decode ${version}.0 hand-written + Map.get(key) per series`, '', ms(withLookup), perSec(withLookup, samples));
    ratios.push(`${c}: decode ${version}.0 hand-written / protobufjs = ${(hand.opsPerSec / pbjs.opsPerSec).toFixed(1)}×`);

    const compressed = snappyEncode(body);
    const [hs, js] = compare([() => snappyDecode(compressed, 64 << 20).length, () => snappyjsUncompress(compressed).length]);
    row(c, `snappy ${version}.0 body, hand-written`, kib(compressed.length), ms(hs), mbPerSec(hs, body.length));
    row(c, `snappy ${version}.0 body, snappyjs`, '', ms(js), mbPerSec(js, body.length));
    ratios.push(`${c}: snappy ${version}.0 body hand-written / snappyjs = ${(hs.opsPerSec / js.opsPerSec).toFixed(2)}×`);

    if (perSeries === 1) {
      const encode = version === 1 ? () => encodeWriteRequestV1(input).length : () => encodeWriteRequestV2(input).length;
      const pbEncode =
        version === 1
          ? () => schema.WriteRequestV1.encode(toProtobufjsV1(input)).finish().length
          : () => schema.RequestV2.encode(toProtobufjsV2(input)).finish().length;
      const [e, pe] = compare([encode, pbEncode]);
      row(c, `encode ${version}.0 hand-written`, '', ms(e), perSec(e, samples));
      row(c, `encode ${version}.0 protobufjs (+ object conversion)`, '', ms(pe), perSec(pe, samples));
      ratios.push(`${c}: encode ${version}.0 hand-written / protobufjs = ${(e.opsPerSec / pe.opsPerSec).toFixed(2)}×`);
    }
  }
}

const header = ['case', 'what', 'size', 'per request (best / median)', 'throughput (best)'];
const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
const line = (r: string[]) => `| ${r.map((cell, i) => cell.padEnd(widths[i])).join(' | ')} |`;
console.log(
  `\nmachine: ${os.cpus()[0]?.model ?? 'unknown'} (${os.cpus().length} cpus), node ${process.version}, ${os.platform()} ${os.arch()}; ` +
    `one core; ${WARMUP_SECONDS}s warm-up + ${ROUNDS} rounds in ${SECONDS}s per contender\n`,
);
console.log(line(header));
console.log(`|${widths.map((w) => '-'.repeat(w + 2)).join('|')}|`);
for (const r of rows) console.log(line(r));
console.log('');
for (const r of ratios) console.log(r);
if (sink === 42) console.log('');
