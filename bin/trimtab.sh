#!/bin/sh
# The container image's entry point (Dockerfile ENTRYPOINT): `trimtab COMMAND …`.
#
# `agent` (the DaemonSet) runs the agent's JavaScript built at image build time (agent/build.ts →
# dist/bin/agent.js) with the Node flags and malloc settings below; every other command runs the
# TypeScript CLI (bin/trimtab.ts) as before. `exec` leaves node as the container's process (PID 1,
# signals). npm run bench:agent runs this very script against the same build.
#
# Why (test/agent/agent.bench.ts, 110 pods / 250 containers, peak RSS from VmHWM):
#   (not --jitless: it saves another ~11 MiB of peak RSS, no compiler's code in the node binary being
#                             touched, but costs ~2.5x the CPU per scrape (71.3 MiB at 715 ms a round, 60 s),
#                             which breaks the 20m CPU target; add it through NODE_OPTIONS where memory matters more.)
#   --no-turbofan             Maglev is the top tier: TurboFan's code in the node binary is never touched and
#                             its compilations stop. Back to back, 3 × 60–90 s each: peak RSS 85.9–87.5 →
#                             81.8–83.1 MiB, CPU per round no worse (297/325/277 → 305/283/248 ms). (--no-maglev
#                             instead: 82.5 MiB at 360 ms.)
#   --max-semi-space-size=1   a 1 MiB young generation (the default grows to 16 MiB per semi-space).
#   --max-old-space-size=64   a bound far above the ~20 MiB the agent uses, against runaway growth.
#   (not --optimize-for-size: with it every full GC threw away the optimized code and type feedback of the
#                             scrape and encode loops, so each round ran them interpreted and recompiled them
#                             — ~780 compilations in 15 rounds instead of ~400 that die out; V8 helper threads
#                             busy ~150 ms a round. Without it: 475/518 → 355/363 ms a round back to back,
#                             peak RSS +1 to +2 MiB.)
#   MALLOC_ARENA_MAX=2, MALLOC_TRIM_THRESHOLD_=128 KiB: fewer glibc arenas, the heap's free top given back.
#   MALLOC_MMAP_THRESHOLD_=16 KiB: a scrape streams ~13 MB through short-lived 16–64 KiB buffers (socket
#                             reads, TLS records, gunzip output); from malloc's heap they leave it fragmented,
#                             ~8 MiB resident but free (what malloc_trim gave back, measured with gdb). mmap()ed,
#                             each goes back to the system when freed: −5 to −6 MiB of peak RSS (8 KiB: no
#                             better, more CPU). It costs CPU: fresh pages fault in for every buffer (back to
#                             back, 2 × 1 min each: 469 → 521 ms a round, kernel time ×1.7). Kept, because the
#                             chart runs the agent Guaranteed at 100Mi, where memory is the tighter limit.
# NODE_OPTIONS (the chart's agent.nodeOptions) is still read by node and can add to or override these;
# a MALLOC_* variable already set wins over the default here.
set -e
app=$(CDPATH= cd -- "$(dirname -- "$0")/.." && pwd)
if [ "${1-}" = agent ]; then
  shift
  export MALLOC_ARENA_MAX="${MALLOC_ARENA_MAX:-2}"
  export MALLOC_MMAP_THRESHOLD_="${MALLOC_MMAP_THRESHOLD_:-16384}"
  export MALLOC_TRIM_THRESHOLD_="${MALLOC_TRIM_THRESHOLD_:-131072}"
  exec node --max-semi-space-size=1 --max-old-space-size=64 --no-turbofan "$app/dist/bin/agent.js" "$@"
fi
exec node "$app/bin/trimtab.ts" "$@"
