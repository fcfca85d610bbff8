#!/usr/bin/env bash
# `make demo`: validates every example with the freshly built provider and real Terraform
# (1.15.5 and 1.0.3), offline, then shows what Terraform sees of the provider.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
PROVIDER="${ROOT}/target/debug/terraform-provider-dataplatform"
WORK="${ROOT}/target/demo"
VERSION=0.1.0
ADDR="registry.terraform.io/dataplatform/dataplatform"
step() { printf '\n==> %s\n' "$*"; }

[[ -x "${PROVIDER}" ]] || { echo "build the provider first: make build" >&2; exit 1; }

step "Installing the provider into a local filesystem mirror (${WORK}/mirror)"
rm -rf "${WORK}"
MIRROR_DIR="${WORK}/mirror/registry.terraform.io/dataplatform/dataplatform/${VERSION}/linux_amd64"
mkdir -p "${MIRROR_DIR}"
cp "${PROVIDER}" "${MIRROR_DIR}/terraform-provider-dataplatform_v${VERSION}"
cat > "${WORK}/terraform.rc" <<RC
provider_installation {
  filesystem_mirror {
    path    = "${WORK}/mirror"
    include = ["${ADDR}"]
  }
}
RC
export TF_CLI_CONFIG_FILE="${WORK}/terraform.rc" CHECKPOINT_DISABLE=1 TF_IN_AUTOMATION=1

mapfile -t EXAMPLES < <(cd "${ROOT}" && find examples -name '*.tf' -printf '%h\n' | sort -u)
for tf in 1.15.5 1.0.3; do
  TERRAFORM="${ROOT}/.testbed/bin/terraform-${tf}"
  for ex in "${EXAMPLES[@]}"; do
    step "Terraform ${tf}: init + validate ${ex}"
    dir="${WORK}/tf-${tf}/${ex}"
    mkdir -p "${dir}"
    cp "${ROOT}/${ex}"/*.tf "${dir}/"
    # Registry examples leave out required_providers; the demo installs from the local mirror.
    grep -q required_providers "${dir}"/*.tf || cat > "${dir}/providers.tf" <<TF
terraform {
  required_providers {
    dataplatform = {
      source = "${ADDR}"
    }
  }
}
TF
    (cd "${dir}" && timeout 300 "${TERRAFORM}" init -input=false -no-color >/dev/null && timeout 120 "${TERRAFORM}" validate -no-color)
  done
done

step "What Terraform sees of the provider (terraform providers schema -json)"
dir="${WORK}/tf-1.15.5/examples/provider"
(cd "${dir}" && timeout 120 "${ROOT}/.testbed/bin/terraform-1.15.5" providers schema -json) > "${WORK}/schema.json"
python3 - "${WORK}/schema.json" "${ADDR}" <<'PY'
import json, sys
doc = json.load(open(sys.argv[1]))
p = doc["provider_schemas"][sys.argv[2]]
def show(block, indent="  "):
    for name, a in sorted(block.get("attributes", {}).items()):
        mode = "required" if a.get("required") else ("optional" if a.get("optional") else "computed")
        flags = " sensitive" if a.get("sensitive") else ""
        print(f"{indent}{name:<24} {json.dumps(a.get('type')):<22} {mode}{flags}")
    for name, b in sorted(block.get("block_types", {}).items()):
        print(f"{indent}{name} {{}}  ({b['nesting_mode']} block)")
        show(b["block"], indent + "  ")
print("provider \"dataplatform\":")
show(p["provider"]["block"])
rs = sorted(p.get("resource_schemas", {}))
ds = sorted(p.get("data_source_schemas", {}))
print(f"resources: {', '.join(rs) or '(none yet)'}")
print(f"data sources: {', '.join(ds) or '(none yet)'}")
PY

step "Try it yourself"
cat <<TXT
  export TF_CLI_CONFIG_FILE=${WORK}/terraform.rc CHECKPOINT_DISABLE=1
  cd ${WORK}/tf-1.15.5/examples/provider
  ${ROOT}/.testbed/bin/terraform-1.15.5 validate
TXT
