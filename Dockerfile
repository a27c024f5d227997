# syntax=docker/dockerfile:1
# One image for every Trimtab role: `receiver`, `analyzer`, `agent`, `migrate`, `all`, and the CLI
# (`tenant …`, `token …`). Node runs the TypeScript sources directly (type stripping), except for the
# agent: `trimtab agent` (the DaemonSet) runs its JavaScript built here by agent/build.ts (types stripped
# ahead of time, so the agent process does not carry Node's TypeScript stripper), with the Node flags of
# bin/trimtab.sh, the entry point. npm run bench:agent measures exactly that build and entry point.
#
#   docker build -t trimtab .
#   docker run --rm -p 9201:9201 trimtab             # `all` on the embedded store in /data
#   docker run --rm trimtab receiver                 # any role: the first argument
#
# NODE_VERSION is the exact Node release the test suite runs on (package.json's `node` dev dependency);
# test/helm/dockerfile.test.ts keeps the two equal.
ARG NODE_VERSION=24.21.0

# --- deps: production dependencies only, from the lockfile, without install scripts.
FROM node:${NODE_VERSION}-bookworm-slim AS deps
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --ignore-scripts --no-audit --no-fund \
    && npm cache clean --force

# --- runtime: the sources the CLI imports, the default rule pack, and the dependencies.
FROM node:${NODE_VERSION}-bookworm-slim AS runtime
ENV NODE_ENV=production \
    TRIMTAB_DATA_DIR=/data
WORKDIR /app
COPY --from=deps /app/node_modules ./node_modules
# bin/trimtab.ts imports package.json (name, version).
COPY package.json ./
COPY bin/ ./bin/
COPY lib/ ./lib/
COPY protocol/ ./protocol/
COPY storage/ ./storage/
COPY promql/ ./promql/
COPY receiver/ ./receiver/
COPY analyzer/ ./analyzer/
COPY agent/ ./agent/
COPY rules/ ./rules/
# The agent's JavaScript (dist/bin/agent.js and what it imports); bin/trimtab.sh runs it for `agent`.
RUN node --disable-warning=ExperimentalWarning agent/build.ts dist
# The embedded store's directory (only `all` without DATABASE_URL uses it); everything else is read-only.
RUN mkdir /data && chown 65532:65532 /data
# Not root, and numeric so that Kubernetes' runAsNonRoot can verify it.
USER 65532:65532
# receiver 9201; analyzer and agent 9202 (/metrics, /-/healthy, /-/ready)
EXPOSE 9201 9202
ENTRYPOINT ["/bin/sh", "bin/trimtab.sh"]
CMD ["all"]
