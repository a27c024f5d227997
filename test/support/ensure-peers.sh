#!/usr/bin/env bash
# Makes sure the real peers the tests talk to are here: PostgreSQL at 127.0.0.1:5432 and Debian's
# Prometheus 2.42 (sender and reference). Installs Prometheus from apt when missing (CI runs as root).
set -euo pipefail

if ! command -v prometheus >/dev/null 2>&1; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "ensure-peers: installing prometheus from Debian's apt" >&2
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends prometheus >/dev/null
  else
    echo "ensure-peers: prometheus is missing; install it (Debian: apt-get install prometheus) and rerun" >&2
    exit 1
  fi
fi

pg_up() { (exec 3<>/dev/tcp/127.0.0.1/5432) 2>/dev/null; }
if [ -z "${TRIMTAB_TEST_DATABASE_URL:-}" ] && ! pg_up; then
  if command -v pg_ctlcluster >/dev/null 2>&1; then
    echo "ensure-peers: starting the local PostgreSQL cluster" >&2
    pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql | sort -V | tail -n1)" main start || true
    for _ in $(seq 1 30); do pg_up && break; sleep 1; done
  fi
  pg_up || { echo "ensure-peers: no PostgreSQL at 127.0.0.1:5432 (set TRIMTAB_TEST_DATABASE_URL to use another)" >&2; exit 1; }
fi
