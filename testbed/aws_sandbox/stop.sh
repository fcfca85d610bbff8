#!/usr/bin/env bash
# `make sandbox-stop`: stops the sandbox started by start.sh.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
DIR="${ROOT}/target/sandbox"
[[ -f "${DIR}/pid" ]] || { echo "[sandbox] not running"; exit 0; }
PID="$(cat "${DIR}/pid")"
if kill -0 "${PID}" 2>/dev/null; then
  kill -TERM "${PID}" 2>/dev/null || true
  for _ in $(seq 1 50); do kill -0 "${PID}" 2>/dev/null || break; sleep 0.1; done
  kill -0 "${PID}" 2>/dev/null && kill -KILL "${PID}" 2>/dev/null || true
fi
rm -f "${DIR}/pid" "${DIR}/env" "${DIR}/ready"
echo "[sandbox] stopped"
