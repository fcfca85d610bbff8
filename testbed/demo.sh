#!/usr/bin/env bash
# `make demo`: validates every example with the freshly built provider and real Terraform
# (1.15.5 and 1.0.3), offline; starts the local sandbox (AWS and Kubernetes stand-ins); applies
# examples/spark-on-eks, the seed's whole environment; and shows what exists and where things
# run. Running it again converges on the same environment ("No changes"); `make demo-clean`
# destroys it and stops the sandbox.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
PROVIDER="${ROOT}/target/debug/terraform-provider-dataplatform"
WORK="${ROOT}/target/demo"
VERSION=0.1.0
ADDR="registry.terraform.io/dataplatform/dataplatform"
step() { printf '\n==> %s\n' "$*"; }

[[ -x "${PROVIDER}" ]] || { echo "build the provider first: make build" >&2; exit 1; }

step "Installing the provider into a local filesystem mirror (${WORK}/mirror)"
rm -rf "${WORK}/mirror" "${WORK}/tf-1.15.5" "${WORK}/tf-1.0.3" "${WORK}/nodegroups"
MIRROR_DIR="${WORK}/mirror/registry.terraform.io/dataplatform/dataplatform/${VERSION}/linux_amd64"
mkdir -p "${MIRROR_DIR}"
cp "${PROVIDER}" "${MIRROR_DIR}/terraform-provider-dataplatform_v${VERSION}"
cat > "${WORK}/terraform.rc" <<RC
provider_installation {
  filesystem_mirror {
    path    = "${WORK}/mirror"
    include = ["${ADDR}"]
  }
  direct {
    exclude = ["${ADDR}"]
  }
}
RC
export TF_CLI_CONFIG_FILE="${WORK}/terraform.rc" CHECKPOINT_DISABLE=1 TF_IN_AUTOMATION=1

mapfile -t EXAMPLES < <(cd "${ROOT}" && find examples -name '*.tf' -printf '%h\n' | sort -u)
for tf in 1.15.5 1.0.3; do
  TERRAFORM="${ROOT}/.testbed/bin/terraform-${tf}"
  mkdir -p "${WORK}/tf-${tf}"
  cp -r "${ROOT}/examples" "${WORK}/tf-${tf}/"
  for ex in "${EXAMPLES[@]}"; do
    dir="${WORK}/tf-${tf}/${ex}"
    if [[ "${tf}" == 1.0.3 ]]; then
      case "${ex}" in
        examples/ephemeral-resources/*) need="ephemeral resources need Terraform 1.10 or later" ;;
        examples/functions/*) need="provider functions need Terraform 1.8 or later" ;;
        examples/list-resources/*) need="list resources need Terraform 1.14 or later" ;;
        *) need="" ;;
      esac
      if [[ -n "${need}" ]]; then
        step "Terraform ${tf}: ${ex} skipped (${need})"
        continue
      fi
      # Import blocks by identity need Terraform 1.12 or later; the rest of the example does not.
      rm -f "${dir}/import-by-identity.tf"
    fi
    # Examples that configure other providers (kubernetes, helm) need them from the registry.
    others="$(grep -ho '^provider "[a-z0-9_-]*"' "${dir}"/*.tf | grep -v '"dataplatform"' | sort -u | tr '\n' ' ' || true)"
    if [[ -n "${others}" ]] && ! timeout 10 curl -fsS -o /dev/null https://registry.terraform.io/.well-known/terraform.json 2>/dev/null; then
      step "Terraform ${tf}: ${ex} skipped (its ${others% }needs the Terraform registry, which is not reachable)"
      continue
    fi
    step "Terraform ${tf}: init + validate ${ex}"
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

step "Starting the sandbox: the AWS stand-in (EKS, Auto Scaling, STS) and the Kubernetes API stand-in serving the 'analytics' cluster"
bash "${ROOT}/testbed/aws_sandbox/start.sh"
# shellcheck disable=SC1091
source "${ROOT}/target/sandbox/env"

ENVDIR="${WORK}/spark-on-eks"
step "Applying examples/spark-on-eks: three node groups by purpose, a Spark pool on the Spark groups, Metabase on the infra group"
# The example calls the module by relative path (../modules/spark-on-eks): keep that layout.
mkdir -p "${ENVDIR}" "${WORK}/modules"
cp "${ROOT}"/examples/spark-on-eks/*.tf "${ENVDIR}/"
rm -rf "${WORK}/modules/spark-on-eks" && cp -r "${ROOT}/examples/modules/spark-on-eks" "${WORK}/modules/"
# A rebuilt provider has a new checksum: the demo's lock file follows the local build.
rm -f "${ENVDIR}/.terraform.lock.hcl"
cat > "${ENVDIR}/sandbox.auto.tfvars.json" <<JSON
{"node_role_arn": "${SANDBOX_NODE_ROLE_ARN}",
 "subnet_ids": $(python3 -c 'import json,os; print(json.dumps(os.environ["SANDBOX_SUBNET_IDS"].split(",")))'),
 "metabase_database_password": "demo-only-password"}
JSON
TF15="${ROOT}/.testbed/bin/terraform-1.15.5"
(cd "${ENVDIR}" && timeout 300 "${TF15}" init -input=false -no-color >/dev/null \
  && timeout 1200 "${TF15}" apply -auto-approve -input=false -no-color \
     | grep --line-buffered -E "Creating|Creation complete|Modifying|Modifications complete|Still creating|Apply complete|No changes|Warning|Error" )

step "What exists now, read back from the sandbox"
(cd "${ENVDIR}" && "${TF15}" show -json) > "${WORK}/state.json"
(cd "${ENVDIR}" && "${TF15}" output -json) > "${WORK}/outputs.json"
python3 - "${WORK}/state.json" "${WORK}/outputs.json" <<'PY'
import json, sys
state = json.load(open(sys.argv[1]))
outputs = json.load(open(sys.argv[2]))
resources = []
def walk(m):
    resources.extend(m.get("resources", []))
    for c in m.get("child_modules", []):
        walk(c)
walk(state["values"]["root_module"])
def by_type(t):
    return [r for r in resources if r["type"] == t]
def one(b):
    return (b[0] if b else None) if isinstance(b, list) else b
def print_iam(v, holders):
    # The roles the pods run as: EKS Pod Identity associations the resource owns, IRSA annotations.
    for k, assoc in sorted((v.get("pod_identity_associations") or {}).items()):
        print(f"    pod identity  {k} -> association {assoc}")
    irsa = []
    for h in holders:
        iam = one(h.get("iam"))
        if iam and iam["mechanism"] == "irsa" and iam["role_arn"] not in irsa:
            irsa.append(iam["role_arn"])
    for arn in irsa:
        print(f"    IRSA          {arn} (eks.amazonaws.com/role-arn on the service account)")
print("\nNode groups (EKS), handed to the cluster autoscaler:")
for r in by_type("dataplatform_nodegroup"):
    v = r["values"]
    s = v["scaling_config"][0] if isinstance(v["scaling_config"], list) else v["scaling_config"]
    taints = ", ".join(t["key"] + "=" + (t["value"] or "") + ":" + t["effect"] for t in v["effective_taints"]) or "(none)"
    print(f"\n  {v['name']}  [{v['status']}]  purpose {v['purpose']}, {v['capacity_type']}, {', '.join(v['instance_types'])}")
    print(f"    size      {s['min_size']}..{s['max_size']} (now {v['current_desired_size']}; the autoscaler owns the desired size)")
    print(f"    labels    {json.dumps(v['effective_labels'])}")
    print(f"    taints    {taints}")
    lt = v.get("managed_launch_template")
    if lt:
        print(f"    local storage  {v['local_storage_gib']} GiB of instance-store NVMe per node, prepared by the launch "
              f"template the group owns: {lt['name']} ({lt['id']}, version {lt['version']})")
    tags = v["autoscaler_tags"]
    print(f"    autoscaler tags ({len(tags)}) on {', '.join(v['autoscaling_group_names'])}:")
    for k, val in sorted(tags.items()):
        print(f"      {k} = {val}")
print("\nWhat runs where:")
for r in by_type("dataplatform_bi_service"):
    v = r["values"]
    sel = (v.get("placement") or {}).get("node_selector")
    print(f"  {v['engine']} {v['namespace']}/{v['name']}: image {v['effective_image']}, on nodes {json.dumps(sel)}")
    if v.get("load_balancer_hostname"):
        print(f"    load balancer {v['load_balancer_hostname']} (given by the AWS Load Balancer Controller)")
    print_iam(v, [v])
    for k in sorted(v["objects"]):
        print(f"    {k}")
for r in by_type("dataplatform_spark_pool"):
    v = r["values"]
    d, e = v["driver"], v["executor"]
    d = d[0] if isinstance(d, list) else d
    e = e[0] if isinstance(e, list) else e
    print(f"  Spark pool {v['namespace']}: drivers on {json.dumps(d['placement']['node_selector'])}, executors on "
          f"{json.dumps(e['placement']['node_selector'])} tolerating {', '.join(t['key'] + '=' + (t['value'] or '') for t in e['placement']['tolerations'])}"
          f", decommission {'on' if v['decommission'] else 'off'}")
    print_iam(v, [d, e, one(v.get("history_server")) or {}])
    for k in sorted(v["objects"]):
        print(f"    {k}")
    if v.get("history_server_url"):
        print(f"    History Server: {v['history_server_url']}, reading {v['event_log'][0]['dir'] if isinstance(v['event_log'], list) else v['event_log']['dir']}")
print("\nSpark configuration to submit with (spark-submit --conf k=v, or Airflow's SparkSubmitOperator conf):")
for k, val in sorted(outputs["spark_conf"]["value"].items()):
    print(f"  {k}={val}")
print(f"\nMetabase: {outputs['metabase_url']['value']}")
PY

step "Try it yourself"
cat <<TXT
  source ${ROOT}/target/sandbox/env   # KUBECONFIG, AWS endpoint and credentials of the sandbox
  export TF_CLI_CONFIG_FILE=${WORK}/terraform.rc
  cd ${ENVDIR}
  terraform-1.15.5 plan            # no changes: everything matches the configuration
TXT
if command -v kubectl >/dev/null 2>&1; then
  cat <<TXT
  kubectl get deploy,svc,ingress -A                  # what the BI service deployed
  kubectl -n prod-spark get configmap prod-spark-pod-templates -o yaml
  kubectl describe namespace prod-spark
  kubectl apply --server-side --validate=false -f x.yaml   # writes: the stand-in serves no OpenAPI
TXT
else
  cat <<TXT
  reads without kubectl:           curl -s --cacert \$KUBE_SANDBOX_CA_FILE -H "Authorization: Bearer \$KUBE_SANDBOX_TOKEN" \$KUBE_SANDBOX_URL/api/v1/namespaces
TXT
fi
cat <<TXT
  make demo                        # (from the repository) converges again: "No changes"
  make demo-clean                  # (from the repository) destroys the environment and stops the sandbox
TXT
