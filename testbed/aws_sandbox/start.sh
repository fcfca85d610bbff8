#!/usr/bin/env bash
# `make sandbox`: starts the Kubernetes stand-in (kube-sandbox) and the AWS stand-in (moto) on
# loopback (kube-sandbox verifies EKS tokens by asking moto's STS, as EKS asks STS), seeds the
# `analytics` cluster (whose endpoint and CA are kube-sandbox's) and writes target/sandbox/env
# (export lines), target/sandbox/kubeconfig (context `analytics`) and target/sandbox/sandbox.json.
# Reuses a running sandbox.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
DIR="${ROOT}/target/sandbox"
PY="${ROOT}/.testbed/venv-tools/bin/python"
KUBE_SANDBOX="${ROOT}/target/kube-sandbox/debug/kube-sandbox"
mkdir -p "${DIR}"
bash "${ROOT}/testbed/install.sh" >/dev/null

alive() { [[ -f "$1" ]] && kill -0 "$(cat "$1")" 2>/dev/null; }

if alive "${DIR}/pid" && alive "${DIR}/kube.pid" && [[ -f "${DIR}/env" ]]; then
  echo "[sandbox] already running (moto pid $(cat "${DIR}/pid"), kube-sandbox pid $(cat "${DIR}/kube.pid")); environment in ${DIR}/env"
  exit 0
fi
if [[ -f "${DIR}/pid" || -f "${DIR}/kube.pid" ]]; then
  bash "${ROOT}/testbed/aws_sandbox/stop.sh" >/dev/null
fi

# Waits (at most 20 s) for a READY line in a file written by the process whose pid file is $2.
wait_ready() { # file pidfile pattern log
  for _ in $(seq 1 200); do
    grep -q "$3" "$1" 2>/dev/null && return 0
    alive "$2" || { echo "[sandbox] failed to start; see $4" >&2; exit 1; }
    sleep 0.1
  done
  echo "[sandbox] not ready after 20 s; see $4" >&2
  exit 1
}

# ---------------------------------------------------------------- Kubernetes stand-in
KUBE_TOKEN="$("${PY}" -c 'import secrets; print(secrets.token_hex(16))')"
rm -f "${DIR}/kube-ready"
nohup "${KUBE_SANDBOX}" --port 0 --http-port 0 --ca-out "${DIR}/kube-ca.pem" --token "${KUBE_TOKEN}" \
  --aws-secret-key testing --eks-cluster analytics --log "${DIR}/kube.log" \
  > "${DIR}/kube-ready" 2>>"${DIR}/kube.log" &
echo $! > "${DIR}/kube.pid"
wait_ready "${DIR}/kube-ready" "${DIR}/kube.pid" KUBE_SANDBOX_READY "${DIR}/kube.log"
KUBE_URL="$(awk '/KUBE_SANDBOX_READY/ {print $2}' "${DIR}/kube-ready")"
KUBE_HTTP_URL="$(awk '/KUBE_SANDBOX_HTTP/ {print $2}' "${DIR}/kube-ready")"
# The controllers the seed installs with Helm (AWS Load Balancer Controller, Spark operator).
"${PY}" "${ROOT}/testbed/aws_sandbox/controllers.py" "${KUBE_HTTP_URL}" "${KUBE_TOKEN}"

# ---------------------------------------------------------------- AWS stand-in
rm -f "${DIR}/ready"
nohup "${PY}" "${ROOT}/testbed/aws_sandbox/moto_sandbox.py" --host 127.0.0.1 --port 0 \
  --lifecycle-describes "${SANDBOX_LIFECYCLE_DESCRIBES:-2}" --log "${DIR}/moto.log" \
  --cluster-endpoint "${KUBE_URL}" --cluster-ca-file "${DIR}/kube-ca.pem" > "${DIR}/ready" 2>/dev/null &
echo $! > "${DIR}/pid"
wait_ready "${DIR}/ready" "${DIR}/pid" SANDBOX_READY "${DIR}/moto.log"
URL="$(awk '/SANDBOX_READY/ {print $2}' "${DIR}/ready")"
# The Kubernetes stand-in verifies EKS tokens as EKS does: by sending their presigned
# GetCallerIdentity to STS, here the AWS stand-in.
"${PY}" - "${KUBE_HTTP_URL}" "${URL}" <<'PY'
import json, sys, urllib.request
req = urllib.request.Request(sys.argv[1] + "/_sandbox/sts-endpoint", data=json.dumps({"url": sys.argv[2]}).encode(),
                             headers={"Content-Type": "application/json"}, method="POST")
urllib.request.urlopen(req, timeout=10).read()
PY
"${PY}" "${ROOT}/testbed/aws_sandbox/seed.py" --endpoint "${URL}" --json-out "${DIR}/sandbox.json" >/dev/null
SUBNETS="$("${PY}" -c 'import json,sys; print(",".join(json.load(open(sys.argv[1]))["subnet_ids"]))' "${DIR}/sandbox.json")"
ROLE="$("${PY}" -c 'import json,sys; print(json.load(open(sys.argv[1]))["node_role_arn"])' "${DIR}/sandbox.json")"

# ---------------------------------------------------------------- kubeconfig and environment
CA_DATA="$(base64 -w0 < "${DIR}/kube-ca.pem")"
umask 077
cat > "${DIR}/kubeconfig" <<KUBECONFIG
apiVersion: v1
kind: Config
clusters:
- name: analytics
  cluster:
    server: ${KUBE_URL}
    certificate-authority-data: ${CA_DATA}
users:
- name: analytics-sandbox
  user:
    token: ${KUBE_TOKEN}
contexts:
- name: analytics
  context:
    cluster: analytics
    user: analytics-sandbox
    namespace: default
current-context: analytics
KUBECONFIG
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
export KUBECONFIG=${DIR}/kubeconfig
export KUBE_SANDBOX_URL=${KUBE_URL}
export KUBE_SANDBOX_HTTP_URL=${KUBE_HTTP_URL}
export KUBE_SANDBOX_TOKEN=${KUBE_TOKEN}
export KUBE_SANDBOX_CA_FILE=${DIR}/kube-ca.pem
export PATH=${ROOT}/.testbed/bin:\$PATH
export CHECKPOINT_DISABLE=1
ENV
echo "[sandbox] AWS stand-in at ${URL} (pid $(cat "${DIR}/pid")), cluster analytics seeded"
echo "[sandbox] Kubernetes stand-in at ${KUBE_URL} (pid $(cat "${DIR}/kube.pid")); kubeconfig ${DIR}/kubeconfig"
echo "[sandbox] installed as the seed does with Helm: the AWS Load Balancer Controller (IngressClass alb) and the Spark operator (spark-operator/spark-operator-controller)"
echo "[sandbox] environment: source ${DIR}/env"
