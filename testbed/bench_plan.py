#!/usr/bin/env python3
"""Plan benchmark: `terraform plan -refresh=false` and a refreshing `terraform plan` over N
dataplatform_nodegroup resources (against the EKS sandbox) and over N null_resource of the Go
null provider, in one run, reported as min/median/max and as ratios ours/Go.

Usage: bench_plan.py --provider PATH --count 500 --runs 3 [--json FILE]
Run by `make bench` with the test bed's tools venv python (stdlib only here).
"""
import argparse
import json
import os
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TB = os.path.join(ROOT, ".testbed")
TERRAFORM = os.path.join(TB, "bin", "terraform-1.15.5")
PY = os.path.join(TB, "venv-tools", "bin", "python")
ADDR = "registry.terraform.io/dataplatform/dataplatform"


def log(msg):
    print(f"[bench] {msg}", file=sys.stderr, flush=True)


def start_sandbox(tmp):
    proc = subprocess.Popen(
        [PY, os.path.join(ROOT, "testbed/aws_sandbox/moto_sandbox.py"), "--host", "127.0.0.1", "--port", "0",
         "--lifecycle-describes", "0", "--log", os.path.join(tmp, "moto.log")],
        stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    deadline = time.time() + 30
    url = None
    while time.time() < deadline:
        line = proc.stdout.readline()
        if line.startswith("SANDBOX_READY "):
            url = line.split()[1]
            break
        if not line and proc.poll() is not None:
            break
    if not url:
        proc.kill()
        raise SystemExit("sandbox did not start")
    facts_file = os.path.join(tmp, "sandbox.json")
    subprocess.run([PY, os.path.join(ROOT, "testbed/aws_sandbox/seed.py"), "--endpoint", url, "--json-out", facts_file],
                   check=True, stdout=subprocess.DEVNULL, timeout=60)
    with open(facts_file) as f:
        return proc, url, json.load(f)


def workspace(tmp, name, provider_bin):
    d = os.path.join(tmp, name)
    os.makedirs(d)
    rc = os.path.join(tmp, f"{name}.rc")
    mirror = os.path.join(tmp, f"{name}-mirror")
    if provider_bin:
        over = os.path.join(tmp, f"{name}-bin")
        os.makedirs(over)
        real = os.path.join(over, "provider-real")
        shutil.copy(provider_bin, real)
        # A thin wrapper records the provider's own CPU time (user + system) per process.
        wrapper = os.path.join(over, "terraform-provider-dataplatform")
        with open(wrapper, "w") as f:
            f.write(f"""#!{sys.executable}
import os, resource, subprocess, sys
rc = subprocess.call([{real!r}] + sys.argv[1:])
u = resource.getrusage(resource.RUSAGE_CHILDREN)
with open({os.path.join(tmp, "cpu.log")!r}, "a") as f:
    f.write(f"{{u.ru_utime + u.ru_stime}}\\n")
sys.exit(rc)
""")
        os.chmod(wrapper, 0o755)
        with open(rc, "w") as f:
            f.write(f'provider_installation {{\n  dev_overrides {{\n    "{ADDR}" = "{over}"\n  }}\n  direct {{}}\n}}\n')
    else:
        target = os.path.join(mirror, "registry.terraform.io/hashicorp/null/2.1.2/linux_amd64")
        os.makedirs(target)
        shutil.copy(os.path.join(TB, "bin", "terraform-provider-null"), os.path.join(target, "terraform-provider-null_v2.1.2"))
        with open(rc, "w") as f:
            f.write(f'provider_installation {{\n  filesystem_mirror {{\n    path = "{mirror}"\n  }}\n}}\n')
    return d, rc


def tf(d, rc, env_extra, *args, timeout=3600):
    env = dict(os.environ, TF_CLI_CONFIG_FILE=rc, CHECKPOINT_DISABLE="1", TF_IN_AUTOMATION="1", **env_extra)
    env.pop("TF_LOG", None)
    t = time.perf_counter()
    r = subprocess.run([TERRAFORM, *args], cwd=d, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                       text=True, timeout=timeout)
    dt = time.perf_counter() - t
    if r.returncode not in (0, 2):
        raise SystemExit(f"terraform {' '.join(args)} failed in {d}:\n{r.stdout[-2000:]}\n{r.stderr[-2000:]}")
    return dt


def stats(xs):
    return {"min": min(xs), "median": statistics.median(xs), "max": max(xs)}


def main():
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--provider", required=True)
    ap.add_argument("--count", type=int, default=500)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--json")
    a = ap.parse_args()
    tmp = tempfile.mkdtemp(prefix="bench-plan-")
    proc = None
    try:
        proc, url, facts = start_sandbox(tmp)
        aws_env = {"AWS_ENDPOINT_URL": url, "AWS_REGION": "eu-central-1", "AWS_ACCESS_KEY_ID": "testing",
                   "AWS_SECRET_ACCESS_KEY": "testing", "AWS_EC2_METADATA_DISABLED": "true",
                   "AWS_CONFIG_FILE": "/dev/null", "AWS_SHARED_CREDENTIALS_FILE": "/dev/null"}
        subnets = ", ".join(f'"{s}"' for s in facts["subnet_ids"])
        ours, ours_rc = workspace(tmp, "ours", a.provider)
        with open(os.path.join(ours, "main.tf"), "w") as f:
            f.write(f'''terraform {{
  required_providers {{
    dataplatform = {{ source = "{ADDR}" }}
  }}
}}
resource "dataplatform_nodegroup" "g" {{
  count         = {a.count}
  cluster_name  = "{facts["cluster_name"]}"
  name          = "group-${{count.index}}"
  purpose       = "spark-executor"
  node_role_arn = "{facts["node_role_arn"]}"
  subnet_ids    = [{subnets}]
  scaling_config {{
    min_size = 0
    max_size = 10
  }}
}}
''')
        go, go_rc = workspace(tmp, "go", None)
        with open(os.path.join(go, "main.tf"), "w") as f:
            f.write(f'''terraform {{
  required_providers {{
    null = {{ source = "hashicorp/null", version = "2.1.2" }}
  }}
}}
resource "null_resource" "g" {{
  count    = {a.count}
  triggers = {{ purpose = "spark-executor", index = count.index }}
}}
''')
        log(f"creating {a.count} node groups in the sandbox and {a.count} null_resource")
        tf(go, go_rc, {}, "init", "-input=false")
        tf(go, go_rc, {}, "apply", "-auto-approve", "-input=false")
        tf(ours, ours_rc, aws_env, "apply", "-auto-approve", "-input=false")
        results = {}
        cpu_log = os.path.join(tmp, "cpu.log")

        def provider_cpu():
            try:
                with open(cpu_log) as f:
                    total = sum(float(x) for x in f.read().split())
            except FileNotFoundError:
                total = 0.0
            open(cpu_log, "w").close()
            return total

        for label, args in [("plan -refresh=false", ["plan", "-refresh=false", "-input=false", "-detailed-exitcode"]),
                            ("plan (refreshing)", ["plan", "-input=false", "-detailed-exitcode"])]:
            provider_cpu()
            o = [tf(ours, ours_rc, aws_env, *args) for _ in range(a.runs)]
            cpu = provider_cpu() / a.runs
            g = [tf(go, go_rc, {}, *args) for _ in range(a.runs)]
            results[label] = {"ours": stats(o), "go": stats(g), "ratio": statistics.median(o) / statistics.median(g),
                              "provider_cpu_s": cpu, "provider_cpu_share": cpu / statistics.median(o)}
            log(f"{label}: ours {statistics.median(o):.2f}s, go {statistics.median(g):.2f}s")
        print(f"\n### Plan with {a.count} resources (Terraform 1.15.5, {a.runs} runs)\n")
        print("| operation | ours min/median/max (s) | Go null min/median/max (s) | ratio ours/Go | our provider's CPU per plan |")
        print("| --- | ---: | ---: | ---: | ---: |")
        for k, r in results.items():
            o, g = r["ours"], r["go"]
            print(f"| {k} | {o['min']:.2f} / {o['median']:.2f} / {o['max']:.2f} | "
                  f"{g['min']:.2f} / {g['median']:.2f} / {g['max']:.2f} | {r['ratio']:.2f} | "
                  f"{r['provider_cpu_s']:.2f} s ({100 * r['provider_cpu_share']:.0f} % of wall) |")
        if a.json:
            with open(a.json, "w") as f:
                json.dump(results, f, indent=2)
    finally:
        if proc:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                proc.kill()
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
