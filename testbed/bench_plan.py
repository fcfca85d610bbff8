#!/usr/bin/env python3
"""Plan benchmark: `terraform plan -refresh=false` and a refreshing `terraform plan` with N
resources, ours against the Go null provider (v2.1.2), all in one run with Terraform 1.15.5.

Workspaces (each holds N resources, created once before the timed runs):

  nodegroup  N dataplatform_nodegroup (the real provider, against the EKS stand-in)
  thing      N dataplatform_acctest_thing (the acceptance build of the same provider: same
             framework and gRPC server, a resource whose schema is nearly as small as
             null_resource's and whose read is a local file read)
  null       N null_resource of the Go null provider

The first table has the issue's comparison (nodegroup against null) and the like-for-like
one (thing against null), in both plan modes: wall seconds of the whole `terraform plan` and
the ratio of the medians. The second splits each workspace's plan by who spent the CPU:

  provider CPU  user + system seconds of the provider processes of one plan
  core CPU      user + system seconds of Terraform itself (the whole plan's CPU less the providers')
  stand-in CPU  seconds the EKS stand-in (moto) spent serving the plan's reads, as a share of
                the plan's wall time, and its requests per read

Figures are min / median / max over --runs; the runs of the three workspaces are interleaved
so that load on the machine hits them alike, after one untimed warm-up plan each.

With --latency-ms L (0: skipped), a third table: refreshing plans of the node group workspace
with the EKS stand-in adding L ms to every AWS call, interleaved with refreshing plans without
added latency, --runs of each. Against the ideal given Terraform's parallelism P (10, its
default): the plan without added latency plus ceil(N / P) x c x L, with c = 2 the calls a node
group read makes one after the other (DescribeNodegroup, then DescribeTags of its Auto Scaling
group, which needs the first's answer; concurrent reads share their DescribeTags calls, so there
are fewer requests than 2 per read, but each read still waits for two). That is the time if
every batch of P concurrent reads waited the added latency of each of its sequential calls once
and nothing else changed. Reported as measured / ideal, run by run (each latency run
against the zero-latency run next to it).

Every provider process runs under the same thin wrapper (bash, records its child's CPU time
with `times`), ours and Go alike.

Usage: bench_plan.py --provider PATH --thing-provider PATH --count 500 --runs 5 [--latency-ms 50]
                     [--json FILE]
Run by `make bench` with the test bed's tools venv python (stdlib only here).
"""
import argparse
import json
import math
import os
import shutil
import statistics
import sys
import tempfile
import urllib.request

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from benchlib import (ADDR, AWS_ENV, NULL_ADDR, NULL_PROVIDER, WrappedProvider, fmt, machine,  # noqa: E402
                      machine_line, start_moto, stats, terraform)

MODES = [("plan -refresh=false", ["plan", "-refresh=false", "-input=false", "-detailed-exitcode"]),
         ("plan (refreshing)", ["plan", "-input=false", "-detailed-exitcode"])]
COMPARISONS = [("nodegroup", "null", "dataplatform_nodegroup vs null_resource"),
               ("thing", "null", "dataplatform_acctest_thing vs null_resource (like for like)")]


# A node group read: DescribeNodegroup, then DescribeTags of its Auto Scaling group (which
# needs the first call's answer), one after the other.
SEQUENTIAL_CALLS_PER_READ = 2

def log(msg):
    print(f"[bench] {msg}", file=sys.stderr, flush=True)


class Sandbox:
    """The AWS stand-in with node groups ACTIVE at once, seeded."""

    def __init__(self, tmp):
        self.moto, self.url, self.facts = start_moto(tmp, "--lifecycle-describes", "0")

    def cpu(self):
        return self.moto.cpu()

    def set_latency(self, ms):
        req = urllib.request.Request(f"{self.url}/_sandbox/faults", data=json.dumps({"latency_ms": ms}).encode(),
                                     headers={"Content-Type": "application/json"}, method="POST")
        with urllib.request.urlopen(req, timeout=30) as r:
            r.read()

    def requests(self):
        with urllib.request.urlopen(f"{self.url}/_sandbox/stats", timeout=30) as r:
            stats = json.load(r)
        return sum(v for k, v in stats.items() if k.endswith(".requests"))

    def stop(self):
        self.moto.stop()


class Workspace:
    def __init__(self, tmp, name, address, binary_name, real, tf, env):
        self.name = name
        self.dir = os.path.join(tmp, name)
        self.env = env
        self.provider = WrappedProvider(tmp, name, address, binary_name, real)
        os.makedirs(self.dir)
        with open(os.path.join(self.dir, "main.tf"), "w") as f:
            f.write(tf)

    def provider_cpu(self):
        return self.provider.cpu()

    def terraform(self, *args, timeout=3600):
        r, wall, cpu = terraform(self.dir, self.provider.env(self.env), *args, timeout=timeout)
        if r.returncode not in (0, 2):
            raise SystemExit(f"terraform {' '.join(args)} failed in {self.dir}:\n{r.stdout[-2000:]}\n{r.stderr[-2000:]}")
        if "-detailed-exitcode" in args and r.returncode == 2:
            raise SystemExit(f"terraform {' '.join(args)} in {self.dir} planned changes: the benchmark needs a "
                             f"no-op plan\n{r.stdout[-3000:]}")
        return wall, cpu


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--provider", required=True, help="the release build of terraform-provider-dataplatform")
    ap.add_argument("--thing-provider", required=True, help="the release build of the acctest-provider example")
    ap.add_argument("--count", type=int, default=500)
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--latency-ms", type=int, default=0,
                    help="also time refreshing node group plans with this latency added to every AWS call")
    ap.add_argument("--parallelism", type=int, default=10, help="Terraform's -parallelism (its default: 10)")
    ap.add_argument("--json")
    a = ap.parse_args()
    tmp = tempfile.mkdtemp(prefix="bench-plan-")
    sandbox = None
    try:
        sandbox = Sandbox(tmp)
        facts = sandbox.facts
        aws_env = dict(AWS_ENV, AWS_ENDPOINT_URL=sandbox.url)
        subnets = ", ".join(f'"{s}"' for s in facts["subnet_ids"])
        store = os.path.join(tmp, "thing-store")
        os.makedirs(store)
        spaces = {
            "nodegroup": Workspace(tmp, "nodegroup", ADDR, "terraform-provider-dataplatform", a.provider, f'''
terraform {{
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
''', aws_env),
            "thing": Workspace(tmp, "thing", ADDR, "terraform-provider-dataplatform", a.thing_provider, f'''
terraform {{
  required_providers {{
    dataplatform = {{ source = "{ADDR}" }}
  }}
}}
resource "dataplatform_acctest_thing" "g" {{
  count = {a.count}
  name  = "thing-${{count.index}}"
}}
''', {"DATAPLATFORM_ACCTEST_DIR": store}),
            "null": Workspace(tmp, "null", NULL_ADDR, "terraform-provider-null", NULL_PROVIDER, f'''
terraform {{
  required_providers {{
    null = {{ source = "hashicorp/null", version = "2.1.2" }}
  }}
}}
resource "null_resource" "g" {{
  count    = {a.count}
  triggers = {{ purpose = "spark-executor", index = count.index }}
}}
''', {}),
        }
        log(f"creating {a.count} node groups in the stand-in, {a.count} test things and {a.count} null_resource")
        for ws in spaces.values():
            ws.terraform("apply", "-auto-approve", "-input=false")
            ws.provider_cpu()
        results = {"count": a.count, "runs": a.runs, "terraform": "1.15.5", "machine": machine(), "modes": {}}
        for label, args in MODES:
            samples = {name: {"wall": [], "provider_cpu": [], "core_cpu": [], "standin_cpu": [],
                              "standin_requests": []} for name in spaces}
            # One warm-up round (page cache, first connections), then interleaved timed rounds.
            for ws in spaces.values():
                ws.terraform(*args)
                ws.provider_cpu()
            for i in range(a.runs):
                for name, ws in spaces.items():
                    s_cpu, s_req = sandbox.cpu(), sandbox.requests()
                    wall, cpu = ws.terraform(*args)
                    s_cpu, s_req = sandbox.cpu() - s_cpu, sandbox.requests() - s_req
                    p = ws.provider_cpu()
                    samples[name]["wall"].append(wall)
                    samples[name]["provider_cpu"].append(p)
                    samples[name]["core_cpu"].append(cpu - p)
                    samples[name]["standin_cpu"].append(s_cpu)
                    samples[name]["standin_requests"].append(s_req)
                log(f"{label} run {i + 1}/{a.runs}: " + ", ".join(
                    f"{n} {samples[n]['wall'][-1]:.2f}s" for n in spaces))
            results["modes"][label] = {n: {k: stats(v) for k, v in s.items()} for n, s in samples.items()}
        if a.latency_ms:
            results["latency"] = latency_runs(a, sandbox, spaces["nodegroup"])
        print(render(results))
        if a.json:
            with open(a.json, "w") as f:
                json.dump(results, f, indent=2)
    finally:
        if sandbox:
            sandbox.stop()
        shutil.rmtree(tmp, ignore_errors=True)


def latency_runs(a, sandbox, ws):
    """Refreshing node group plans with and without added latency, interleaved."""
    args = ["plan", "-input=false", "-detailed-exitcode", f"-parallelism={a.parallelism}"]
    samples = {0: {"wall": [], "provider_cpu": [], "standin_cpu": [], "requests": []},
               a.latency_ms: {"wall": [], "provider_cpu": [], "standin_cpu": [], "requests": []}}
    try:
        for i in range(a.runs + 1):
            for ms in (0, a.latency_ms):
                sandbox.set_latency(ms)
                s_cpu, s_req = sandbox.cpu(), sandbox.requests()
                wall, _ = ws.terraform(*args)
                s_cpu, s_req = sandbox.cpu() - s_cpu, sandbox.requests() - s_req
                p = ws.provider_cpu()
                if i == 0:
                    continue  # warm-up
                samples[ms]["wall"].append(wall)
                samples[ms]["provider_cpu"].append(p)
                samples[ms]["standin_cpu"].append(s_cpu)
                samples[ms]["requests"].append(s_req)
            if i:
                log(f"refreshing plan, {a.latency_ms} ms per AWS call, run {i}/{a.runs}: "
                    f"without {samples[0]['wall'][-1]:.2f}s, with {samples[a.latency_ms]['wall'][-1]:.2f}s")
    finally:
        sandbox.set_latency(0)
    zero, slow = samples[0], samples[a.latency_ms]
    per_read = statistics.median(slow["requests"]) / a.count
    added = math.ceil(a.count / a.parallelism) * SEQUENTIAL_CALLS_PER_READ * a.latency_ms / 1000
    ideal = [w + added for w in zero["wall"]]
    return {"latency_ms": a.latency_ms, "parallelism": a.parallelism, "requests_per_read": per_read,
            "sequential_calls_per_read": SEQUENTIAL_CALLS_PER_READ,
            "added_latency_s": added,
            "zero": {k: stats(v) for k, v in zero.items()},
            "latency": {k: stats(v) for k, v in slow.items()},
            "ideal": stats(ideal),
            "ratio": stats([s / i for s, i in zip(slow["wall"], ideal)]),
            "added_wall": stats([s - z for s, z in zip(slow["wall"], zero["wall"])])}


WORKSPACES = [("nodegroup", "dataplatform_nodegroup (ours)"),
              ("thing", "dataplatform_acctest_thing (ours)"),
              ("null", "null_resource (Go null 2.1.2)")]


def render(results):
    n, runs = results["count"], results["runs"]
    m = results["machine"]
    out = [f"\n### Plan with {n} resources (Terraform {results['terraform']}, {runs} runs, min / median / max)\n",
           f"{machine_line(m)}\n",
           "| operation | ours vs Go | ours wall (s) | Go wall (s) | ratio ours/Go (medians) |",
           "| --- | --- | ---: | ---: | ---: |"]
    for label, _ in MODES:
        r = results["modes"][label]
        for ours, go, what in COMPARISONS:
            o, g = r[ours]["wall"], r[go]["wall"]
            out.append(f"| {label} | {what} | {fmt(o)} | {fmt(g)} | {o['median'] / g['median']:.2f} |")
    out += ["\nCPU seconds per plan, min / median / max:\n",
            "| operation | resources | provider CPU (s) | Terraform core CPU (s) | stand-in CPU (s) |",
            "| --- | --- | ---: | ---: | ---: |"]
    for label, _ in MODES:
        r = results["modes"][label]
        for name, what in WORKSPACES:
            w = r[name]
            standin = "-"
            if w["standin_requests"]["median"] > 0:
                share = 100 * w["standin_cpu"]["median"] / w["wall"]["median"]
                standin = (f"{fmt(w['standin_cpu'])} ({share:.0f} % of the wall time, "
                           f"{w['standin_requests']['median'] / n:.1f} requests per read)")
            out.append(f"| {label} | {what} | {fmt(w['provider_cpu'])} | {fmt(w['core_cpu'])} | {standin} |")
    lat = results.get("latency")
    if lat:
        ms, par = lat["latency_ms"], lat["parallelism"]
        out += [f"\n### Refreshing plan of {n} node groups, {ms} ms added to every AWS call "
                f"(-parallelism={par}, {runs} runs, min / median / max)\n",
                f"Ideal = plan without added latency + ceil({n} / {par}) x "
                f"{lat['sequential_calls_per_read']} sequential calls per read x {ms} ms = plan without added "
                f"latency + {lat['added_latency_s']:.2f} s ({lat['requests_per_read']:.1f} requests per read)\n",
                "| added latency | wall (s) | provider CPU (s) | stand-in CPU (s) | requests |",
                "| --- | ---: | ---: | ---: | ---: |"]
        for key, label in (("zero", "0 ms"), ("latency", f"{ms} ms")):
            r = lat[key]
            out.append(f"| {label} | {fmt(r['wall'])} | {fmt(r['provider_cpu'])} | {fmt(r['standin_cpu'])} | "
                       f"{fmt(r['requests'], 0)} |")
        out += ["", "| ideal (s) | measured / ideal | wall added by the latency (s) |", "| ---: | ---: | ---: |",
                f"| {fmt(lat['ideal'])} | {fmt(lat['ratio'])} | {fmt(lat['added_wall'])} |"]
    return "\n".join(out)


if __name__ == "__main__":
    main()
