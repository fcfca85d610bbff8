#!/usr/bin/env python3
"""Seed environment benchmark: `terraform apply` and `terraform destroy` of examples/spark-on-eks
(three node groups, a Spark pool, Metabase) against the stand-ins, with Terraform 1.15.5.

Starts its own stand-ins on 127.0.0.1 (ephemeral ports), as `make sandbox` does: the Kubernetes
stand-in (kube-sandbox) and the AWS stand-in (moto, with node groups that pass through CREATING
and DELETING for --lifecycle-describes describes, as `make sandbox`), seeds the `analytics`
cluster, then applies and destroys the environment --runs times in the same stand-ins.

For every apply and destroy it records:

  wall          seconds of the whole `terraform apply` / `terraform destroy`
  provider CPU  user + system seconds of the provider processes (run through benchlib.py's wrapper, as in
                bench_plan.py: bash records its child's CPU time), also as a share of the wall time
  core CPU      Terraform's own CPU (the command's whole CPU time less the providers')
  stand-in CPU  seconds moto and kube-sandbox spent meanwhile (from /proc), and their requests

Figures are min / median / max over --runs, after one untimed apply and destroy. Every apply is
checked to converge (a following `terraform plan -detailed-exitcode` finds no changes) and
every destroy to leave nothing behind.

Usage: bench_seed.py --provider PATH [--runs 5] [--lifecycle-describes 2] [--json FILE]
Run by `make bench` with the test bed's tools venv python (stdlib only here).
"""
import argparse
import json
import os
import secrets
import shutil
import ssl
import sys
import tempfile
import urllib.request

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "aws_sandbox"))
import controllers  # noqa: E402
from benchlib import (ADDR, AWS_ENV, KUBE_SANDBOX, ROOT, StandIn, WrappedProvider, fmt, machine,  # noqa: E402
                      machine_line, start_moto, stats, terraform)


def log(msg):
    print(f"[bench-seed] {msg}", file=sys.stderr, flush=True)


class StandIns:
    def __init__(self, tmp, lifecycle_describes):
        self.procs = []
        self.stats_requests = 0
        try:
            self.start(tmp, lifecycle_describes)
        except BaseException:
            self.stop()
            raise

    def start(self, tmp, lifecycle_describes):
        if not os.access(KUBE_SANDBOX, os.X_OK):
            raise SystemExit(f"{KUBE_SANDBOX} is missing: make testbed builds it")
        ca = os.path.join(tmp, "kube-ca.pem")
        token = secrets.token_hex(16)
        self.kube = StandIn("kube-sandbox", [
            KUBE_SANDBOX, "--port", "0", "--ca-out", ca, "--token", token,
            "--aws-secret-key", "testing", "--eks-cluster", "analytics",
            "--log", os.path.join(tmp, "kube.log")], "KUBE_SANDBOX_READY")
        self.procs.append(self.kube)
        self.kube_url = self.kube.lines["KUBE_SANDBOX_READY"][0]
        self.kube_tls = ssl.create_default_context(cafile=ca)
        # What the seed installs with Helm first: the AWS Load Balancer Controller (whose
        # IngressClass makes the stand-in give Metabase's Ingress an ALB) and the Spark operator.
        controllers.install(self.kube_url, token, self.kube_tls)
        self.moto, self.aws_url, self.facts = start_moto(
            tmp, "--lifecycle-describes", str(lifecycle_describes), "--cluster-endpoint", self.kube_url,
            "--cluster-ca-file", ca)
        self.procs.append(self.moto)

    def sample(self):
        """CPU seconds and requests served so far, per stand-in."""
        with urllib.request.urlopen(f"{self.aws_url}/_sandbox/stats", timeout=30) as r:
            aws = json.load(r)
        with urllib.request.urlopen(f"{self.kube_url}/_sandbox/stats", timeout=30, context=self.kube_tls) as r:
            kube = json.load(r)
        # kube-sandbox counts its own stats requests (this one after answering it): leave them out.
        self.stats_requests += 1
        return {"moto_cpu": self.moto.cpu(), "kube_cpu": self.kube.cpu(),
                "moto_requests": sum(v for k, v in aws.items() if k.endswith(".requests")),
                "kube_requests": kube["total_requests"] - (self.stats_requests - 1)}

    def stop(self):
        for p in reversed(self.procs):
            p.stop()


class SeedWorkspace:
    """examples/spark-on-eks and its module, the provider under the CPU-recording wrapper."""

    def __init__(self, tmp, provider, standins):
        base = os.path.join(tmp, "env")
        self.dir = os.path.join(base, "spark-on-eks")
        # The example calls its module by relative path (../modules/spark-on-eks): keep that layout.
        os.makedirs(self.dir)
        for name in os.listdir(os.path.join(ROOT, "examples", "spark-on-eks")):
            if name.endswith(".tf"):
                shutil.copy(os.path.join(ROOT, "examples", "spark-on-eks", name), self.dir)
        shutil.copytree(os.path.join(ROOT, "examples", "modules", "spark-on-eks"),
                        os.path.join(base, "modules", "spark-on-eks"))
        facts = standins.facts
        with open(os.path.join(self.dir, "sandbox.auto.tfvars.json"), "w") as f:
            json.dump({"node_role_arn": facts["node_role_arn"], "subnet_ids": facts["subnet_ids"],
                       "metabase_database_password": "benchmark-only-password"}, f)
        self.provider = WrappedProvider(tmp, "provider", ADDR, "terraform-provider-dataplatform", provider)
        self.env = self.provider.env(dict(AWS_ENV, AWS_ENDPOINT_URL=standins.aws_url))
        self.env.pop("KUBECONFIG", None)

    def provider_cpu(self):
        return self.provider.cpu()

    def terraform(self, *args, timeout=900):
        return terraform(self.dir, self.env, *args, timeout=timeout)

    def must(self, *args):
        r, wall, cpu = self.terraform(*args)
        if r.returncode != 0:
            raise SystemExit(f"terraform {' '.join(args)} failed in {self.dir}:\n{r.stdout[-3000:]}\n{r.stderr[-3000:]}")
        return r, wall, cpu

    def check_converged(self):
        r, _, _ = self.terraform("plan", "-input=false", "-detailed-exitcode", "-no-color")
        self.provider_cpu()
        if r.returncode != 0:
            raise SystemExit(f"the environment did not converge after apply (plan exit {r.returncode}):\n"
                             f"{r.stdout[-3000:]}\n{r.stderr[-3000:]}")

    def check_empty(self):
        r, _, _ = self.must("state", "list")
        self.provider_cpu()
        if r.stdout.strip():
            raise SystemExit(f"resources left in the state after destroy:\n{r.stdout}")


OPERATIONS = [("apply", ["apply", "-auto-approve", "-input=false", "-no-color"]),
              ("destroy", ["destroy", "-auto-approve", "-input=false", "-no-color"])]


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--provider", required=True, help="the release build of terraform-provider-dataplatform")
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--lifecycle-describes", type=int, default=2,
                    help="describes a node group stays CREATING / DELETING for (as `make sandbox`)")
    ap.add_argument("--json")
    a = ap.parse_args()
    tmp = tempfile.mkdtemp(prefix="bench-seed-")
    standins = None
    try:
        standins = StandIns(tmp, a.lifecycle_describes)
        ws = SeedWorkspace(tmp, a.provider, standins)
        ws.must("init", "-input=false", "-no-color")
        ws.provider_cpu()
        results = {"runs": a.runs, "terraform": "1.15.5", "lifecycle_describes": a.lifecycle_describes,
                   "machine": machine(), "operations": {}}
        samples = {op: {k: [] for k in ("wall", "provider_cpu", "provider_share", "core_cpu", "moto_cpu",
                                        "kube_cpu", "moto_requests", "kube_requests")} for op, _ in OPERATIONS}
        for i in range(a.runs + 1):
            for op, args in OPERATIONS:
                before = standins.sample()
                _, wall, cpu = ws.must(*args)
                after = standins.sample()
                p = ws.provider_cpu()
                if op == "apply":
                    ws.check_converged()
                else:
                    ws.check_empty()
                if i == 0:
                    continue  # warm-up
                s = samples[op]
                s["wall"].append(wall)
                s["provider_cpu"].append(p)
                s["provider_share"].append(100 * p / wall)
                s["core_cpu"].append(cpu - p)
                for k in ("moto_cpu", "kube_cpu", "moto_requests", "kube_requests"):
                    s[k].append(after[k] - before[k])
            if i == 0:
                log("warm-up apply and destroy done")
            else:
                log(f"run {i}/{a.runs}: apply {samples['apply']['wall'][-1]:.2f}s "
                    f"(provider CPU {samples['apply']['provider_cpu'][-1]:.3f}s), destroy "
                    f"{samples['destroy']['wall'][-1]:.2f}s (provider CPU {samples['destroy']['provider_cpu'][-1]:.3f}s)")
        results["operations"] = {op: {k: stats(v) for k, v in s.items()} for op, s in samples.items()}
        print(render(results))
        if a.json:
            with open(a.json, "w") as f:
                json.dump(results, f, indent=2)
    finally:
        if standins:
            standins.stop()
        shutil.rmtree(tmp, ignore_errors=True)


def render(results):
    m = results["machine"]
    out = [f"\n### Seed environment, apply and destroy (Terraform {results['terraform']}, {results['runs']} runs, "
           f"min / median / max)\n",
           f"{machine_line(m)}; node groups stay CREATING / DELETING "
           f"for {results['lifecycle_describes']} describes\n",
           "| operation | wall (s) | provider CPU (s) | provider CPU, % of wall | Terraform core CPU (s) |",
           "| --- | ---: | ---: | ---: | ---: |"]
    for op, _ in OPERATIONS:
        r = results["operations"][op]
        out.append(f"| {op} | {fmt(r['wall'])} | {fmt(r['provider_cpu'], 3)} | {fmt(r['provider_share'], 1)} | "
                   f"{fmt(r['core_cpu'])} |")
    out += ["\nStand-ins meanwhile, min / median / max:\n",
            "| operation | moto CPU (s) | moto requests | kube-sandbox CPU (s) | kube-sandbox requests |",
            "| --- | ---: | ---: | ---: | ---: |"]
    for op, _ in OPERATIONS:
        r = results["operations"][op]
        out.append(f"| {op} | {fmt(r['moto_cpu'])} | {fmt(r['moto_requests'], 0)} | {fmt(r['kube_cpu'])} | "
                   f"{fmt(r['kube_requests'], 0)} |")
    return "\n".join(out)


if __name__ == "__main__":
    main()
