#!/usr/bin/env bash
# `make sandbox-stop`: stops the sandbox started by start.sh (moto and kube-sandbox, by pid).
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
DIR="${ROOT}/target/sandbox"
if [[ ! -f "${DIR}/pid" && ! -f "${DIR}/kube.pid" ]]; then
  echo "[sandbox] not running"
  exit 0
fi
stop_pid() { # pidfile
  [[ -f "$1" ]] || return 0
  local pid
  pid="$(cat "$1")"
  if kill -0 "${pid}" 2>/dev/null; then
    kill -TERM "${pid}" 2>/dev/null || true
    for _ in $(seq 1 50); do kill -0 "${pid}" 2>/dev/null || break; sleep 0.1; done
    kill -0 "${pid}" 2>/dev/null && kill -KILL "${pid}" 2>/dev/null || true
  fi
  rm -f "$1"
}
stop_pid "${DIR}/pid"
stop_pid "${DIR}/kube.pid"
rm -f "${DIR}/env" "${DIR}/ready" "${DIR}/kube-ready" "${DIR}/kubeconfig"
echo "[sandbox] stopped"
