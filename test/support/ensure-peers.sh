#!/usr/bin/env bash
# Makes sure the real peers the tests talk to are here: PostgreSQL at 127.0.0.1:5432, Debian's
# Prometheus 2.42 (sender and reference, with promtool), and for the agent tests Debian's
# prometheus-node-exporter (a real scrape target) and victoria-metrics (a remote-write receiver no one
# here wrote). Installs the missing ones from apt (CI runs as root).
set -euo pipefail

apt_updated=0
ensure_package() { # command package
  if ! command -v "$1" >/dev/null 2>&1; then
    if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
      echo "ensure-peers: installing $2 from Debian's apt" >&2
      if [ "$apt_updated" = 0 ]; then apt-get update -qq; apt_updated=1; fi
      DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "$2" >/dev/null
    else
      echo "ensure-peers: $1 is missing; install it (Debian: apt-get install $2) and rerun" >&2
      exit 1
    fi
  fi
}
ensure_package prometheus prometheus
ensure_package prometheus-node-exporter prometheus-node-exporter
ensure_package victoria-metrics victoria-metrics

pg_up() { (exec 3<>/dev/tcp/127.0.0.1/5432) 2>/dev/null; }
if [ -z "${TRIMTAB_TEST_DATABASE_URL:-}" ] && ! pg_up; then
  if command -v pg_ctlcluster >/dev/null 2>&1; then
    echo "ensure-peers: starting the local PostgreSQL cluster" >&2
    pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql | sort -V | tail -n1)" main start || true
    for _ in $(seq 1 30); do pg_up && break; sleep 1; done
  fi
  pg_up || { echo "ensure-peers: no PostgreSQL at 127.0.0.1:5432 (set TRIMTAB_TEST_DATABASE_URL to use another)" >&2; exit 1; }
fi
