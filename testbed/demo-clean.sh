#!/usr/bin/env bash
# `make demo-clean`: destroys the environment `make demo` applied and stops the sandbox.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
WORK="${ROOT}/target/demo"
ENVDIR="${WORK}/spark-on-eks"
if [[ -f "${ENVDIR}/terraform.tfstate" && -f "${ROOT}/target/sandbox/env" ]]; then
  # shellcheck disable=SC1091
  source "${ROOT}/target/sandbox/env"
  export TF_CLI_CONFIG_FILE="${WORK}/terraform.rc" CHECKPOINT_DISABLE=1 TF_IN_AUTOMATION=1
  echo "==> Destroying the demo environment"
  (cd "${ENVDIR}" && timeout 1200 "${ROOT}/.testbed/bin/terraform-1.15.5" destroy -auto-approve -input=false -no-color \
     | grep --line-buffered -E "Destroying|Destruction complete|Destroy complete|Error")
fi
bash "${ROOT}/testbed/aws_sandbox/stop.sh"
rm -rf "${ENVDIR}"
