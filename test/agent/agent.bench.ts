// npm run bench:agent — the agent on a node with 110 pods / 250 containers, scraped every 15 s.
//
// The agent runs as its own process, exactly as the container image runs `trimtab agent`: the bench builds
// the agent's JavaScript with agent/build.ts (what the Dockerfile runs), lays it out as in the image
// (bin/trimtab.sh beside dist/, node_modules), and starts `sh bin/trimtab.sh agent …` — the image's
// entry point, with its Node flags and malloc settings — with the environment the Helm DaemonSet sets
// from helm/trimtab/values.yaml (agent.nodeOptions → NODE_OPTIONS, agent.mallocArenaMax). Against it:
//   - a test kubelet (HTTPS, test CA, bearer token, gzip) serving /metrics/cadvisor and /metrics/resource
//     for the node's pods (≈ 13 MB of cAdvisor text per scrape, as a containerd kubelet of that size),
//   - a test API server (stands in for kube-apiserver) serving the node, its pods, ReplicaSets and Jobs,
//   - a remote-write receiver that counts the bytes and samples it gets (204 + Written headers).
// It prints CPU per scrape round, average CPU in millicores, bytes sent per sample, and peak RSS, against
// the targets (peak RSS ≤ 64 MiB, average CPU ≤ 20m), from /proc/<pid> of the agent process.
//
//   node test/agent/agent.bench.ts [--duration 5m] [--interval 15s] [--node-options='--flag …'] [--source]
//   TRIMTAB_BENCH_DURATION=1m npm run bench:agent
//
// --node-options adds to NODE_OPTIONS (as the chart's agent.nodeOptions would). --source runs instead
// `node [--node-options] bin/agent.ts`: the .ts sources through Node's type stripping, no image flags
// (for comparison; not what production runs).
//
// Measured (this bench, 110 pods / 250 containers, Node 24.21; peak RSS = VmHWM, which counts the pages
// of the node binary the process touched: ~34 MiB for an idle `node`, 43–47 MiB for the agent). Runs of
// 35–60 s unless noted; RSS is stable across runs to ~±2 MiB, CPU is not comparable across days (shared
// machine):
//   .ts sources, plain `node`                                      156 MiB (session 1)
//   .ts sources, --max-semi-space-size=1 --max-old-space-size=64    115 MiB (anon 57, file-backed 58)
//   pre-stripped JavaScript, same flags                            94–97 MiB (anon 42–45, file 52)
//   + node:http taken with process.getBuiltinModule (no undici)      92.6 MiB
//   + --jitless (CPU per scrape ×2.7 back to back: 567 → 1520 ms)   78.4 MiB (anon 35.5, file 43)
//   + MALLOC_MMAP_THRESHOLD_ / MALLOC_TRIM_THRESHOLD_ = 128 KiB      77.0 MiB
//   + --optimize-for-size                                           76.9 MiB
//   the image build + entry point (bin/trimtab.sh) with all of it   74.9–78.6 MiB
//   + prom-client modules loaded one by one, no node:readline       74.3 MiB (anon 31.7)
//   + flat series keys (no cons strings)                            74.4 MiB (no change in the peak)
//   final with --jitless, 5 minutes                                 78.4 MiB (anon 31.8, file ~46.6)
//   shipped: no --jitless, prom-client through its index, 1 min     90.2 MiB (anon 38.0), 703 ms CPU a round
//     (same host and hour, the .ts sources: 143.2 MiB, 547 ms a round)
//   session 4 (1 min each, back to back against the unchanged code, load 1.5–5 from another bench; CPU
//   per round is too noisy here to separate ±20 %; baseline runs 90.6–92.0 MiB, anon 37.2–39.1, 445–488 ms):
//   + node:util's parseArgs and the file calls without ES imports of node:util / node:fs/promises (25 fewer
//     builtin modules: worker_threads, readline, REPL history, fs watchers…)  91.2 MiB (≈ −0.6, anon −1.6)
//   + MALLOC_MMAP_THRESHOLD_=16 KiB                                  85.5 and 87.0 MiB (anon 32.4), 530 / 385 ms
//     (re-measured on a quiet host, 2 × 1 min each alternating, 128 KiB → 16 KiB: VmHWM 88.4/93.1 → 88.3/87.1 MiB,
//     anon 38.0/38.5 → 32.9/32.4, CPU 477/460 → 510/532 ms a round, kernel ticks 48/42 → 70/80: the memory
//     comes at ~11 % more CPU; kept for the 100Mi Guaranteed pod)
//     The peak is the first scrape (every series new, the compilers' first runs): anon 27 → 39 MiB within
//     a second. Of ~12 MiB in glibc's main heap and ~24 in its other arena, malloc_trim(0) (gdb, at 25 s)
//     gave back 7.7 MiB: free fragments left by the scrape's short-lived 16–64 KiB buffers.
//   Where the file-backed pages go (pagemap of the node binary vs an idle node, +17 MiB): builtin modules'
//   JS sources and code cache ~5.5 (https/tls/crypto/zlib/stream/http, prom-client's perf_hooks/v8, net's
//   cluster on listen()), TurboFan/Turboshaft ~5.5 and Maglev ~1.6 MiB of text (touched by the first
//   scrape's parse loop), embedded builtins ~2, OpenSSL ~1; ICU data is never touched.
//   Not kept: --no-maglev (refused in NODE_OPTIONS; only as a bin/trimtab.sh flag, not measured),
//   gunzip chunkSize 128 KiB (91.0: no change alone), MALLOC_MMAP_THRESHOLD_=8 KiB (91.8, anon 31.9, 650 ms).
//   session 5 (CPU; runs of 60–90 s at 15 s, or 40 s at --interval=2s where noted):
//   - --optimize-for-size made every full GC drop the optimized code and type feedback of the scrape and
//     encode loops (--trace-opt/--trace-deopt: ~780 compilations in 15 rounds, deopts for "insufficient
//     type feedback" every round; V8 helper threads ~150 ms a round). Without it: 475/518 → 355/363 ms
//     a round, peak RSS +1 to +2 MiB.
//   - a series' 1.0 Label fields encoded once (its identity; the sender copies them, encodeSamplesV1) and
//     kube-state-metrics facts kept per object version: at --interval=2s 260 → 186/192 ms a round.
//     5 minutes: 249.5 ms a round, 16.6 m, peak 84.8 MiB.
//   - --no-turbofan, back to back 3 × 60–90 s: 85.9–87.5 → 81.8–83.1 MiB, 297/325/277 → 305/283/248 ms
//     (--no-maglev instead: 82.5 MiB, 360 ms). --jitless on top: 71.3 MiB at 715 ms a round.
//     5 minutes: 233.5 ms a round (32.5 ms of it in the kernel), 15.5 m, peak 83.7 MiB, 78.2 at the end.
//   - not kept: gunzip chunkSize 128 KiB (3 × 2 alternating at 2 s: 185 → 177 ms, +2 MiB); asking the
//     kubelet for an uncompressed body (same CPU, +15 MiB: 13 MB of TLS records queue up faster than
//     they are parsed); --no-memory-reducer, --no-flush-bytecode (no difference beyond the noise).
//   - found on the way: snappyjs returned a view of its worst-case output buffer, so a queued request kept
//     ~8× its compressed size alive (protocol/snappy.ts now copies the block out).
// Tried and not kept: --lite-mode 79 MiB (CPU ×3.7), --no-opt --no-maglev 83, --no-turbofan 86 (under
// --optimize-for-size),
// --single-threaded 105 and --single-threaded-gc 85 (both worse), --max-old-space-size=32 74.4,
// --no-concurrent-array-buffer-sweeping 74.7, --v8-pool-size=1 with UV_THREADPOOL_SIZE=1 73.7,
// --gc-global 70.5 at 4–5× the CPU. Loading @kubernetes/client-node into the agent: 107.9 MiB (agent/kube.ts).
// What is left (5 minutes, session 5): ~45–50 MiB of node binary pages; anonymous ~33 MiB = V8 heap
// ~20 MiB (live ~16–18 MiB: series keys, bytecode and Maglev code, module sources), ArrayBuffers of the
// scrape's 16 KiB chunks not yet collected 3–10 MiB at the end of a round, malloc, stacks and arenas.
// Before any scrape, once started and synced with the API server, the agent is already at ~65 MiB.

import { spawn } from 'node:child_process';
import { copyFile, mkdir, mkdtemp, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import { createServer } from 'node:http';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { parseArgs } from 'node:util';
import { buildAgent } from '../../agent/build.ts';
import { parseDuration } from '../../bin/duration.ts';
import { decodeWriteRequest, remoteWriteVersionFor, snappyDecode } from '../../protocol/index.ts';
import { buildNodeWorkload } from './support/cluster.ts';
import { startTestApiServer } from './support/kube-apiserver.ts';
import { startTestKubelet } from './support/kubelet.ts';
import { makeTestPki } from './support/tls.ts';
import { chartDefaultValues } from '../helm/support.ts';

const { values: args } = parseArgs({
  options: {
    duration: { type: 'string', default: process.env.TRIMTAB_BENCH_DURATION ?? '5m' },
    interval: { type: 'string', default: '15s' },
    pods: { type: 'string', default: '110' },
    containers: { type: 'string', default: '250' },
    'node-options': { type: 'string', default: process.env.TRIMTAB_BENCH_NODE_OPTIONS ?? '' },
    source: { type: 'boolean', default: process.env.TRIMTAB_BENCH_SOURCE === '1' },
    'remote-write-version': { type: 'string', default: '1' },
  },
});
const durationMs = parseDuration(args.duration!) ?? 300_000;
const intervalMs = parseDuration(args.interval!) ?? 15_000;
const pods = Number(args.pods);
const containers = Number(args.containers);
const CLK_TCK = 100; // /proc/<pid>/stat ticks per second on Linux

async function procStats(pid: number): Promise<{ cpuSeconds: number; kernelSeconds: number; rssKiB: number; hwmKiB: number; anonKiB: number }> {
  const stat = await readFile(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const cpuSeconds = (Number(fields[11]) + Number(fields[12])) / CLK_TCK; // utime + stime
  const status = await readFile(`/proc/${pid}/status`, 'utf8');
  const kib = (k: string) => Number(new RegExp(`${k}:\\s+(\\d+)`).exec(status)?.[1] ?? 0);
  return { cpuSeconds, kernelSeconds: Number(fields[12]) / CLK_TCK, rssKiB: kib('VmRSS'), hwmKiB: kib('VmHWM'), anonKiB: kib('RssAnon') };
}

const pki = await makeTestPki('bench');
const workload = buildNodeWorkload('bench-node', pods, containers, 3);
const api = await startTestApiServer({ cert: pki.serverCert, key: pki.serverKey });
for (const p of workload.pods) api.apply('pods', p);
api.apply('nodes', workload.node);
for (const r of workload.replicaSets) api.apply('replicasets', r);
for (const j of workload.jobs) api.apply('jobs', j);
const kubelet = await startTestKubelet({ cert: pki.serverCert, key: pki.serverKey }, workload.pods);

let bytes = 0;
let samples = 0;
let requests = 0;
const receiver = createServer((req, res) => {
  const chunks: Buffer[] = [];
  req.on('data', (c: Buffer) => chunks.push(c));
  req.on('end', () => {
    const body = Buffer.concat(chunks);
    bytes += body.length;
    requests++;
    const n = decodeWriteRequest(remoteWriteVersionFor(req.headers['content-type']), snappyDecode(body, 64 << 20)).samples.length;
    samples += n;
    res.writeHead(204, { 'X-Prometheus-Remote-Write-Samples-Written': String(n), 'X-Prometheus-Remote-Write-Histograms-Written': '0', 'X-Prometheus-Remote-Write-Exemplars-Written': '0' }).end();
  });
});
await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve));

const dir = await mkdtemp(join(tmpdir(), 'trimtab-bench-'));
await writeFile(join(dir, 'token'), api.token);
await writeFile(join(dir, 'ca.crt'), pki.ca);
await writeFile(join(dir, 'kubelet-token'), kubelet.token);

// The image's layout: /app/bin/trimtab.sh, /app/dist (agent/build.ts), /app/node_modules.
const app = join(dir, 'app');
const image = args.source ? null : await (async () => {
  await mkdir(join(app, 'bin'), { recursive: true });
  await copyFile(join(import.meta.dirname, '..', '..', 'bin', 'trimtab.sh'), join(app, 'bin', 'trimtab.sh'));
  await symlink(join(import.meta.dirname, '..', '..', 'node_modules'), join(app, 'node_modules'));
  await buildAgent(join(app, 'dist'));
  // What the DaemonSet adds to the container's environment (helm/trimtab/templates/agent.yaml).
  const values = chartDefaultValues<{ agent: { nodeOptions?: string; mallocArenaMax?: string | number } }>();
  const nodeOptions = [values.agent.nodeOptions ?? '', args['node-options']!].filter(Boolean).join(' ');
  const env: Record<string, string> = {};
  if (nodeOptions) env.NODE_OPTIONS = nodeOptions;
  if (values.agent.mallocArenaMax !== undefined && values.agent.mallocArenaMax !== '') env.MALLOC_ARENA_MAX = String(values.agent.mallocArenaMax);
  return { env };
})();
const agentFlags = [
  `--remote-write-url=http://127.0.0.1:${(receiver.address() as { port: number }).port}/api/v1/write`,
  '--cluster=bench',
  `--remote-write-version=${args['remote-write-version']}`,
  '--node-name=bench-node',
  `--scrape-interval=${args.interval}`,
  `--scrape-timeout=${Math.min(10_000, intervalMs)}ms`,
  `--service-account-dir=${dir}`,
  `--kubelet-url=${kubelet.url}`,
  `--kubelet-token-file=${join(dir, 'kubelet-token')}`,
  `--kubelet-ca-file=${pki.caFile}`,
  `--buffer-dir=${join(dir, 'buffer')}`,
  '--listen=127.0.0.1:0',
  `--log-level=${process.env.TRIMTAB_BENCH_LOG_LEVEL ?? 'warn'}`,
];
// Nothing of this process's own Node or malloc settings leaks into the agent's.
const inherited = Object.fromEntries(Object.entries(process.env).filter(([k]) => k !== 'NODE_OPTIONS' && !k.startsWith('MALLOC_')));
const started = Date.now();
const child = image
  ? spawn('/bin/sh', [join(app, 'bin', 'trimtab.sh'), 'agent', ...agentFlags], {
      // `node` on the PATH is this Node (the image's is the same release, test/helm/dockerfile.test.ts).
      env: { ...inherited, ...image.env, PATH: `${dirname(process.execPath)}:${process.env.PATH ?? ''}`, KUBERNETES_SERVICE_HOST: '127.0.0.1', KUBERNETES_SERVICE_PORT: new URL(api.url).port },
      stdio: ['ignore', 'pipe', 'pipe'],
    })
  : spawn(process.execPath, [...args['node-options']!.split(' ').filter(Boolean), join(import.meta.dirname, '..', '..', 'bin', 'agent.ts'), ...agentFlags], {
      env: { ...inherited, KUBERNETES_SERVICE_HOST: '127.0.0.1', KUBERNETES_SERVICE_PORT: new URL(api.url).port },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
let logs = '';
child.stdout.on('data', (d) => {
  logs = (logs + d).slice(-10_000);
  if (process.env.TRIMTAB_BENCH_LOG_LEVEL) process.stderr.write(d);
});
child.stderr.on('data', (d) => (logs = (logs + d).slice(-10_000)));
const pid = child.pid!;

// Let it start (module loading, first list of pods), then measure from the first scrape on.
await new Promise((r) => setTimeout(r, 3000));
const cadvisorScrapes = () => kubelet.requests.filter((r) => r.path === '/metrics/cadvisor' && r.status === 200).length;
const atStart = await procStats(pid);
const scrapesAtStart = cadvisorScrapes();
const bytesAtStart = bytes;
const samplesAtStart = samples;
const t0 = Date.now();
let peakRss = atStart.rssKiB;
let peakAnon = atStart.anonKiB;
process.stdout.write(
  `agent pid ${pid}: ${pods} pods / ${containers} containers, scrape every ${args.interval}, measuring for ${args.duration}; ${image ? `the image's entry point (bin/trimtab.sh agent, agent/build.ts JavaScript)${image.env.NODE_OPTIONS ? `; NODE_OPTIONS=${image.env.NODE_OPTIONS}` : ''}${image.env.MALLOC_ARENA_MAX ? `; MALLOC_ARENA_MAX=${image.env.MALLOC_ARENA_MAX}` : ''}` : `.ts sources through Node type stripping${args['node-options'] ? `; node ${args['node-options']}` : ''}`}\n`,
);
while (Date.now() - t0 < durationMs) {
  await new Promise((r) => setTimeout(r, 1000));
  if (child.exitCode !== null) throw new Error(`the agent exited (${child.exitCode}):\n${logs}`);
  const s = await procStats(pid);
  peakRss = Math.max(peakRss, s.rssKiB);
  peakAnon = Math.max(peakAnon, s.anonKiB);
}
const atEnd = await procStats(pid);
const wall = (Date.now() - t0) / 1000;
const rounds = cadvisorScrapes() - scrapesAtStart;
child.kill('SIGTERM');
await new Promise((r) => child.once('exit', r));

const cpu = atEnd.cpuSeconds - atStart.cpuSeconds;
const cadvisorBytes = kubelet.requests.filter((r) => r.path === '/metrics/cadvisor').at(-1)?.bytes ?? 0;
const sentSamples = samples - samplesAtStart;
const sentBytes = bytes - bytesAtStart;
const perScrapeMs = rounds > 0 ? (cpu * 1000) / rounds : NaN;
const millicores = (cpu / wall) * 1000;
const peakMiB = Math.max(atEnd.hwmKiB, peakRss) / 1024;
const row = (k: string, v: string, target = '') => process.stdout.write(`  ${k.padEnd(34)}${v.padStart(16)}  ${target}\n`);
process.stdout.write('\nresults\n');
row('wall time measured', `${wall.toFixed(0)} s`);
row('scrape rounds', String(rounds));
row('cAdvisor body (gzip on the wire)', `${(cadvisorBytes / 1024).toFixed(0)} KiB`);
row('samples sent per round', rounds ? (sentSamples / rounds).toFixed(0) : '-');
row('CPU per scrape round', `${perScrapeMs.toFixed(1)} ms`, `(of which in the kernel ${rounds > 0 ? (((atEnd.kernelSeconds - atStart.kernelSeconds) * 1000) / rounds).toFixed(1) : '-'} ms)`);
row('average CPU', `${millicores.toFixed(1)} m`, `target ≤ 20 m: ${millicores <= 20 ? 'met' : 'MISSED'}`);
row('bytes sent per sample', sentSamples ? (sentBytes / sentSamples).toFixed(2) : '-', `(${requests} requests, snappy-compressed remote-write ${args['remote-write-version']}.0)`);
row('peak RSS (VmHWM)', `${peakMiB.toFixed(1)} MiB`, `target ≤ 64 MiB: ${peakMiB <= 64 ? 'met' : 'MISSED'}`);
row('RSS at the end (VmRSS)', `${(atEnd.rssKiB / 1024).toFixed(1)} MiB`, `(anonymous ${(atEnd.anonKiB / 1024).toFixed(1)} MiB)`);
row('peak anonymous RSS (RssAnon)', `${(peakAnon / 1024).toFixed(1)} MiB`, '(heap and other private memory; the rest of VmRSS is the node binary mapped from disk)');
row('CPU incl. start-up', `${(atEnd.cpuSeconds * 1000).toFixed(0)} ms over ${((Date.now() - started) / 1000).toFixed(0)} s`);

await new Promise<void>((resolve) => receiver.close(() => resolve()));
await kubelet.close();
await api.close();
await pki.cleanup();
await rm(dir, { recursive: true, force: true });
