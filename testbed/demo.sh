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
bash "${ROOT}/testbed/aws_sandbox/stop.sh" >/dev/null 2>&1 || true
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

step "Starting the local AWS sandbox (EKS + Auto Scaling stand-in) with the 'analytics' cluster"
bash "${ROOT}/testbed/aws_sandbox/start.sh"
# shellcheck disable=SC1091
source "${ROOT}/target/sandbox/env"

step "Applying examples/resources/dataplatform_nodegroup: infra, Spark driver and Spark executor node groups"
NG="${WORK}/nodegroups"
mkdir -p "${NG}"
cp "${ROOT}/examples/resources/dataplatform_nodegroup/resource.tf" "${NG}/"
cp "${WORK}/tf-1.15.5/examples/resources/dataplatform_nodegroup/providers.tf" "${NG}/" 2>/dev/null || true
cat > "${NG}/sandbox.auto.tfvars.json" <<JSON
{"node_role_arn": "${SANDBOX_NODE_ROLE_ARN}", "subnet_ids": $(python3 -c 'import json,os; print(json.dumps(os.environ["SANDBOX_SUBNET_IDS"].split(",")))')}
JSON
cat > "${NG}/provider.tf" <<TF
provider "dataplatform" {
  region = "eu-central-1"
  default_tags {
    tags = { managed-by = "terraform" }
  }
}
TF
TF15="${ROOT}/.testbed/bin/terraform-1.15.5"
(cd "${NG}" && timeout 300 "${TF15}" init -input=false -no-color >/dev/null \
  && timeout 600 "${TF15}" apply -auto-approve -input=false -no-color | grep -E "Creat|Apply complete|Modif|No changes")

step "What exists now (read back from the sandbox's EKS and Auto Scaling APIs)"
(cd "${NG}" && "${TF15}" show -json) > "${WORK}/state.json"
python3 - "${WORK}/state.json" <<'PY'
import json, sys
doc = json.load(open(sys.argv[1]))
for r in doc["values"]["root_module"]["resources"]:
    v = r["values"]
    s = v["scaling_config"][0] if isinstance(v["scaling_config"], list) else v["scaling_config"]
    print(f"\n{r['address']}  ({v['id']}, {v['status']})")
    print(f"  purpose        {v['purpose']}   capacity {v['capacity_type']}   instances {', '.join(v['instance_types'])}")
    print(f"  size           min {s['min_size']} / max {s['max_size']} (live desired {v['current_desired_size']}, owned by the cluster autoscaler)")
    print(f"  labels         {json.dumps(v['effective_labels'])}")
    print(f"  taints         {', '.join(t['key'] + '=' + (t['value'] or '') + ':' + t['effect'] for t in v['effective_taints']) or '(none)'}")
    print(f"  pods land here with nodeSelector {json.dumps(v['placement']['node_selector'])}"
          + (f" and tolerations {json.dumps(v['placement']['tolerations'])}" if v['placement']['tolerations'] else ""))
    print(f"  autoscaler tags on {', '.join(v['autoscaling_group_names'])}:")
    for k, val in sorted(v["autoscaler_tags"].items()):
        print(f"    {k} = {val}")
PY

step "Try it yourself"
cat <<TXT
  source ${ROOT}/target/sandbox/env
  export TF_CLI_CONFIG_FILE=${WORK}/terraform.rc
  cd ${NG}
  terraform-1.15.5 plan          # no changes: the groups match the configuration
  terraform-1.15.5 destroy       # removes them from the sandbox
  make sandbox-stop              # (from the repository) stops the sandbox
TXT
