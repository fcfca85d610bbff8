"""What the benchmarks share (stdlib only): paths of the test bed, stand-in processes, the
provider wrapper that records each provider process's CPU time, and min / median / max."""
import json
import os
import platform
import re
import resource
import shutil
import signal
import statistics
import subprocess
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TB = os.path.join(ROOT, ".testbed")
TERRAFORM = os.path.join(TB, "bin", "terraform-1.15.5")
NULL_PROVIDER = os.path.join(TB, "bin", "terraform-provider-null")
PY = os.path.join(TB, "venv-tools", "bin", "python")
KUBE_SANDBOX = os.path.join(ROOT, "target", "kube-sandbox", "debug", "kube-sandbox")
ADDR = "registry.terraform.io/dataplatform/dataplatform"
NULL_ADDR = "registry.terraform.io/hashicorp/null"
AWS_ENV = {"AWS_REGION": "eu-central-1", "AWS_DEFAULT_REGION": "eu-central-1", "AWS_ACCESS_KEY_ID": "testing",
           "AWS_SECRET_ACCESS_KEY": "testing", "AWS_EC2_METADATA_DISABLED": "true",
           "AWS_CONFIG_FILE": "/dev/null", "AWS_SHARED_CREDENTIALS_FILE": "/dev/null"}
TF_LOG_VARS = ("TF_LOG", "TF_LOG_PROVIDER", "TF_LOG_CORE", "TF_LOG_PATH")


def cpu_of_pid(pid):
    """User + system seconds of a live process (all its threads)."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def children_cpu():
    u = resource.getrusage(resource.RUSAGE_CHILDREN)
    return u.ru_utime + u.ru_stime


def stats(xs):
    return {"min": min(xs), "median": statistics.median(xs), "max": max(xs), "samples": xs}


def fmt(s, digits=2):
    return f"{s['min']:.{digits}f} / {s['median']:.{digits}f} / {s['max']:.{digits}f}"


def machine():
    cpu = "unknown"
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    return {"nproc": os.cpu_count(), "cpu": cpu, "load_average_at_start": os.getloadavg(),
            "kernel": platform.release()}


def machine_line(m):
    return (f"Machine: {m['nproc']} CPUs ({m['cpu']}), load average at start "
            f"{' '.join(f'{x:.2f}' for x in m['load_average_at_start'])}")


class StandIn:
    """A stand-in started by a benchmark: waits (bounded) for its READY line, stopped by pid.
    `lines` maps the first word of each line it printed until then to the rest."""

    def __init__(self, name, argv, ready, timeout=30):
        self.name = name
        self.proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
        self.lines = {}
        deadline = time.time() + timeout
        while time.time() < deadline:
            line = self.proc.stdout.readline()
            if not line and self.proc.poll() is not None:
                break
            parts = line.split()
            if parts:
                self.lines[parts[0]] = parts[1:]
            if ready in self.lines:
                return
        self.stop()
        raise SystemExit(f"{name} did not start")

    def cpu(self):
        return cpu_of_pid(self.proc.pid)

    def stop(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


def start_moto(tmp, *extra):
    """The AWS stand-in on an ephemeral loopback port, seeded with the `analytics` cluster.
    Returns the process, its URL and the seed's facts (VPC, subnets, node role)."""
    moto = StandIn("moto", [PY, os.path.join(ROOT, "testbed/aws_sandbox/moto_sandbox.py"), "--host", "127.0.0.1",
                            "--port", "0", "--log", os.path.join(tmp, "moto.log"), *extra], "SANDBOX_READY")
    url = moto.lines["SANDBOX_READY"][0]
    facts_file = os.path.join(tmp, "sandbox.json")
    try:
        subprocess.run([PY, os.path.join(ROOT, "testbed/aws_sandbox/seed.py"), "--endpoint", url,
                        "--json-out", facts_file], check=True, stdout=subprocess.DEVNULL, timeout=60)
        with open(facts_file) as f:
            return moto, url, json.load(f)
    except BaseException:
        moto.stop()
        raise


WRAPPER = """#!/bin/bash
# Runs the provider, then writes the CPU times of this shell (first line) and of the provider
# (second line) as `times` prints them, one file per process.
{real} "$@"
rc=$?
times > {log}/$$
exit $rc
"""

TIMES_RE = re.compile(r"(\d+)m([\d.]+)s")


class WrappedProvider:
    """A provider binary that Terraform runs through WRAPPER, installed by a CLI configuration
    with dev_overrides (no `terraform init`, the binary used as is), for ours and Go's alike."""

    def __init__(self, tmp, name, address, binary_name, real):
        self.cpu_log = os.path.join(tmp, f"{name}-cpu")
        over = os.path.join(tmp, f"{name}-bin")
        os.makedirs(self.cpu_log)
        os.makedirs(over)
        copy = os.path.join(over, f"{binary_name}.real")
        shutil.copy(real, copy)
        wrapper = os.path.join(over, binary_name)
        with open(wrapper, "w") as f:
            f.write(WRAPPER.format(real=copy, log=self.cpu_log))
        os.chmod(wrapper, 0o755)
        self.rc = os.path.join(tmp, f"{name}.rc")
        with open(self.rc, "w") as f:
            f.write(f'provider_installation {{\n  dev_overrides {{\n    "{address}" = "{over}"\n  }}\n'
                    f'  direct {{}}\n}}\n')

    def env(self, extra):
        """The environment of a terraform command: this CLI configuration, no logging."""
        env = dict(os.environ, TF_CLI_CONFIG_FILE=self.rc, CHECKPOINT_DISABLE="1", TF_IN_AUTOMATION="1", **extra)
        for k in TF_LOG_VARS:
            env.pop(k, None)
        return env

    def cpu(self):
        """CPU seconds (user + system) of the provider processes that ended since the last call."""
        total = 0.0
        for entry in os.listdir(self.cpu_log):
            path = os.path.join(self.cpu_log, entry)
            with open(path) as f:
                lines = f.read().splitlines()
            os.remove(path)
            if len(lines) < 2:
                raise SystemExit(f"unreadable CPU times of a provider process: {lines!r}")
            total += sum(int(m) * 60 + float(s) for m, s in TIMES_RE.findall(lines[1]))
        return total


def terraform(cwd, env, *args, timeout):
    """Runs one terraform command; returns its result, wall seconds and CPU seconds (its own and
    its providers')."""
    cpu0 = children_cpu()
    t = time.perf_counter()
    r = subprocess.run([TERRAFORM, *args], cwd=cwd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                       text=True, timeout=timeout)
    return r, time.perf_counter() - t, children_cpu() - cpu0
