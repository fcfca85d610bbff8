#!/usr/bin/env bash
# `make sandbox`: starts the AWS stand-in on loopback, seeds the `analytics` cluster and writes
# target/sandbox/env (export lines) and target/sandbox/sandbox.json. Reuses a running sandbox.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
DIR="${ROOT}/target/sandbox"
PY="${ROOT}/.testbed/venv-tools/bin/python"
mkdir -p "${DIR}"
bash "${ROOT}/testbed/install.sh" >/dev/null

if [[ -f "${DIR}/pid" ]] && kill -0 "$(cat "${DIR}/pid")" 2>/dev/null && [[ -f "${DIR}/env" ]]; then
  echo "[sandbox] already running (pid $(cat "${DIR}/pid")); environment in ${DIR}/env"
  exit 0
fi

rm -f "${DIR}/ready"
nohup "${PY}" "${ROOT}/testbed/aws_sandbox/moto_sandbox.py" --host 127.0.0.1 --port 0 \
  --lifecycle-describes "${SANDBOX_LIFECYCLE_DESCRIBES:-2}" --log "${DIR}/moto.log" > "${DIR}/ready" 2>/dev/null &
echo $! > "${DIR}/pid"
for _ in $(seq 1 200); do
  grep -q SANDBOX_READY "${DIR}/ready" 2>/dev/null && break
  kill -0 "$(cat "${DIR}/pid")" 2>/dev/null || { echo "[sandbox] failed to start; see ${DIR}/moto.log" >&2; exit 1; }
  sleep 0.1
done
URL="$(awk '/SANDBOX_READY/ {print $2}' "${DIR}/ready")"
[[ -n "${URL}" ]] || { echo "[sandbox] not ready after 20 s; see ${DIR}/moto.log" >&2; exit 1; }
"${PY}" "${ROOT}/testbed/aws_sandbox/seed.py" --endpoint "${URL}" --json-out "${DIR}/sandbox.json" >/dev/null
SUBNETS="$("${PY}" -c 'import json,sys; print(",".join(json.load(open(sys.argv[1]))["subnet_ids"]))' "${DIR}/sandbox.json")"
ROLE="$("${PY}" -c 'import json,sys; print(json.load(open(sys.argv[1]))["node_role_arn"])' "${DIR}/sandbox.json")"
cat > "${DIR}/env" <<ENV
export AWS_ENDPOINT_URL=${URL}
export AWS_REGION=eu-central-1
export AWS_DEFAULT_REGION=eu-central-1
export AWS_ACCESS_KEY_ID=testing
export AWS_SECRET_ACCESS_KEY=testing
export AWS_EC2_METADATA_DISABLED=true
export AWS_CONFIG_FILE=/dev/null
export AWS_SHARED_CREDENTIALS_FILE=/dev/null
export SANDBOX_URL=${URL}
export SANDBOX_CLUSTER=analytics
export SANDBOX_NODE_ROLE_ARN=${ROLE}
export SANDBOX_SUBNET_IDS=${SUBNETS}
export PATH=${ROOT}/.testbed/bin:\$PATH
export CHECKPOINT_DISABLE=1
ENV
echo "[sandbox] AWS stand-in at ${URL} (pid $(cat "${DIR}/pid")), cluster analytics seeded"
echo "[sandbox] environment: source ${DIR}/env"
