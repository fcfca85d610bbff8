#!/usr/bin/env python3
"""Provider start-up benchmark: go-plugin handshake latency and idle peak RSS.

Starts each provider binary N times with the environment Terraform's plugin
client (hashicorp/go-plugin) gives it, and measures

  * handshake: wall time from spawn until the first complete stdout line,
    which must be the go-plugin handshake line
    CORE|APP_PROTOCOL|NETWORK|ADDRESS|PROTOCOL[|SERVER_CERT]
    e.g. 1|6|tcp|127.0.0.1:10000|grpc|MIIB... (or 1|5|... for protocol 5);
  * idle peak RSS: VmHWM of the process after ~200 ms idle past the handshake.

The process is then stopped (SIGTERM, SIGKILL after 2 s) and always reaped.
The measured PID is the spawned one, so point --provider at the real binary
(a symlink is fine; a shell wrapper that forks would be measured instead).

Usage:
  bench_handshake.py --provider ours=target/release/terraform-provider-dataplatform \
                     --provider null=.testbed/bin/terraform-provider-null \
                     [--runs 30] [--warmup 1] [--json out.json]

The first --provider is "ours" (override with --ours NAME); ratios ours/peer
are given for each other provider. Target failures (no handshake, timeout,
malformed line, early exit) are reported, not fatal: the exit status is
nonzero only for harness errors (bad arguments, no certificate tooling, ...).

Stdlib only. The client certificate (ECDSA P-521, CA:TRUE, SAN localhost,
like go-plugin's AutoMTLS client cert) is made with the `openssl` CLI, or, if
that is missing, with the `cryptography` package of .testbed/venv-tools
(installed by testbed/install.sh).
"""

import argparse
import json
import os
import select
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time

MAGIC_COOKIE_KEY = "TF_PLUGIN_MAGIC_COOKIE"
MAGIC_COOKIE_VALUE = "d602bf8f470bc67ca7faa0386276bbdd4330efaf76d1a219cb4d6991ca9872b2"
HANDSHAKE_TIMEOUT_S = 10.0
IDLE_S = 0.2
TERM_GRACE_S = 2.0
KILL_REAP_S = 5.0
CERT_TIMEOUT_S = 60.0

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TOOLS_PYTHON = os.path.join(REPO_ROOT, ".testbed", "venv-tools", "bin", "python")


class HarnessError(Exception):
    pass


# --------------------------------------------------------------------------- certificate

_CRYPTOGRAPHY_SNIPPET = r"""
import datetime, sys
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID, ExtendedKeyUsageOID
key = ec.generate_private_key(ec.SECP521R1())
name = x509.Name([x509.NameAttribute(NameOID.ORGANIZATION_NAME, "HashiCorp"),
                  x509.NameAttribute(NameOID.COMMON_NAME, "localhost")])
now = datetime.datetime.now(datetime.timezone.utc)
cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name)
        .public_key(key.public_key()).serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(seconds=30))
        .not_valid_after(now + datetime.timedelta(hours=24))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(x509.KeyUsage(digital_signature=True, content_commitment=False,
                       key_encipherment=True, data_encipherment=False, key_agreement=False,
                       key_cert_sign=True, crl_sign=False, encipher_only=False,
                       decipher_only=False), critical=True)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.CLIENT_AUTH,
                       ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .add_extension(x509.SubjectAlternativeName([x509.DNSName("localhost")]), critical=False)
        .sign(key, hashes.SHA512()))
sys.stdout.write(cert.public_bytes(serialization.Encoding.PEM).decode())
"""


def make_client_cert():
    """Return (pem_text, method)."""
    openssl = shutil.which("openssl")
    if openssl:
        with tempfile.TemporaryDirectory(prefix="bench-cert-") as d:
            key, crt = os.path.join(d, "key.pem"), os.path.join(d, "cert.pem")
            cmd = [
                openssl, "req", "-x509", "-newkey", "ec",
                "-pkeyopt", "ec_paramgen_curve:secp521r1",
                "-nodes", "-keyout", key, "-out", crt, "-days", "1", "-sha512",
                "-subj", "/O=HashiCorp/CN=localhost",
                "-addext", "subjectAltName=DNS:localhost",
                "-addext", "basicConstraints=critical,CA:TRUE",
                "-addext", "keyUsage=critical,digitalSignature,keyEncipherment,keyCertSign",
                "-addext", "extendedKeyUsage=clientAuth,serverAuth",
            ]
            try:
                r = subprocess.run(cmd, stdin=subprocess.DEVNULL, capture_output=True,
                                   timeout=CERT_TIMEOUT_S, text=True)
            except subprocess.TimeoutExpired:
                r = None
            if r is not None and r.returncode == 0 and os.path.exists(crt):
                with open(crt) as f:
                    return f.read(), "openssl"
            sys.stderr.write("bench: openssl failed (%s); trying cryptography\n"
                             % (r.stderr.strip() if r is not None else "timeout"))
    if os.access(TOOLS_PYTHON, os.X_OK):
        try:
            r = subprocess.run([TOOLS_PYTHON, "-c", _CRYPTOGRAPHY_SNIPPET],
                               stdin=subprocess.DEVNULL, capture_output=True,
                               timeout=CERT_TIMEOUT_S, text=True)
        except subprocess.TimeoutExpired:
            raise HarnessError("certificate generation with cryptography timed out")
        if r.returncode == 0 and "BEGIN CERTIFICATE" in r.stdout:
            return r.stdout, "cryptography"
        raise HarnessError("certificate generation with cryptography failed: " + r.stderr.strip())
    raise HarnessError("no openssl CLI and no %s (run testbed/install.sh)" % TOOLS_PYTHON)


# --------------------------------------------------------------------------- one run

def read_proc_status_kb(pid, field):
    try:
        with open("/proc/%d/status" % pid) as f:
            for line in f:
                if line.startswith(field + ":"):
                    return int(line.split()[1])
    except (OSError, ValueError, IndexError):
        return None
    return None


def parse_handshake(line):
    """Return dict for a go-plugin handshake line, or raise ValueError."""
    parts = line.split("|")
    if len(parts) not in (5, 6):
        raise ValueError("expected 5 or 6 '|'-separated fields, got %d" % len(parts))
    core, app, network, addr, proto = parts[:5]
    if core != "1":
        raise ValueError("core protocol %r != 1" % core)
    if not app.isdigit():
        raise ValueError("app protocol %r not a number" % app)
    if network not in ("tcp", "unix"):
        raise ValueError("network %r" % network)
    if proto not in ("grpc", "netrpc"):
        raise ValueError("protocol %r" % proto)
    return {"app_protocol": int(app), "network": network, "address": addr,
            "protocol": proto, "server_cert": len(parts) == 6 and bool(parts[5])}


def _signal_group(proc, sig):
    # The target runs in its own session/process group (start_new_session), so
    # this also reaches anything it forked; the group id is the target's pid.
    try:
        os.killpg(proc.pid, sig)
    except (ProcessLookupError, PermissionError):
        pass


def stop_process(proc):
    """SIGTERM, SIGKILL after TERM_GRACE_S; always reap. Returns how it ended."""
    if proc.poll() is not None:
        _signal_group(proc, signal.SIGKILL)  # leftovers of a target that exited
        return "exited(%d)" % proc.returncode
    how = "sigterm"
    _signal_group(proc, signal.SIGTERM)
    try:
        proc.wait(timeout=TERM_GRACE_S)
    except subprocess.TimeoutExpired:
        how = "sigkill"
    _signal_group(proc, signal.SIGKILL)
    try:
        proc.wait(timeout=KILL_REAP_S)
    except subprocess.TimeoutExpired:
        raise HarnessError("pid %d did not die after SIGKILL" % proc.pid)
    return how


def tail(path, n=5):
    try:
        with open(path, "rb") as f:
            f.seek(0, os.SEEK_END)
            size = f.tell()
            f.seek(max(0, size - 4096))
            lines = f.read().decode("utf-8", "replace").splitlines()
        return " / ".join(lines[-n:])
    except OSError:
        return ""


def one_run(path, env, stderr_path):
    """Spawn, wait for handshake, idle, sample RSS, stop. Returns a result dict."""
    res = {"ok": False}
    with open(stderr_path, "wb") as errf:
        t0 = time.perf_counter()
        try:
            proc = subprocess.Popen([path], stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                    stderr=errf, env=env, close_fds=True,
                                    start_new_session=True)
        except OSError as e:
            res["error"] = "spawn failed: %s" % e
            return res
    try:
        fd = proc.stdout.fileno()
        os.set_blocking(fd, False)
        buf = b""
        line = None
        deadline = t0 + HANDSHAKE_TIMEOUT_S
        eof = False
        while line is None and not eof:
            left = deadline - time.perf_counter()
            if left <= 0:
                break
            r, _, _ = select.select([fd], [], [], left)
            if not r:
                continue
            try:
                chunk = os.read(fd, 65536)
            except BlockingIOError:
                continue
            if not chunk:
                eof = True
                break
            buf += chunk
            if b"\n" in buf:
                line = buf.split(b"\n", 1)[0]
                t1 = time.perf_counter()
        if line is None:
            if eof:
                try:
                    proc.wait(timeout=KILL_REAP_S)
                except subprocess.TimeoutExpired:
                    pass
                res["error"] = "stdout closed before handshake (exit %s): %s" % (
                    proc.poll(), tail(stderr_path) or buf[:200].decode("utf-8", "replace"))
            else:
                res["error"] = "no handshake within %.0f s (stdout so far: %r; stderr: %s)" % (
                    HANDSHAKE_TIMEOUT_S, buf[:200], tail(stderr_path))
            return res
        text = line.decode("utf-8", "replace").rstrip("\r")
        try:
            hs = parse_handshake(text)
        except ValueError as e:
            res["error"] = "malformed handshake line %r: %s" % (text[:120], e)
            return res
        res["handshake_ms"] = (t1 - t0) * 1000.0
        res.update(hs)
        # Idle ~IDLE_S past the handshake, draining stdout so the plugin never blocks.
        idle_end = t1 + IDLE_S
        while True:
            left = idle_end - time.perf_counter()
            if left <= 0:
                break
            r, _, _ = select.select([fd], [], [], left)
            if r:
                try:
                    if not os.read(fd, 65536):
                        break
                except BlockingIOError:
                    pass
        if proc.poll() is not None:
            res["error"] = "exited (%d) during idle period: %s" % (proc.returncode, tail(stderr_path))
            return res
        hwm = read_proc_status_kb(proc.pid, "VmHWM")
        rss = read_proc_status_kb(proc.pid, "VmRSS")
        if hwm is None:
            res["error"] = "could not read VmHWM of pid %d" % proc.pid
            return res
        res["peak_rss_mb"] = hwm / 1024.0
        res["rss_mb"] = (rss or 0) / 1024.0
        res["ok"] = True
        return res
    finally:
        res["stopped_by"] = stop_process(proc)
        proc.stdout.close()


# --------------------------------------------------------------------------- driver

def summarize(values):
    if not values:
        return None
    return {"min": min(values), "median": statistics.median(values), "max": max(values)}


def bench_provider(name, path, runs, warmup, base_env, verbose):
    with tempfile.TemporaryDirectory(prefix="bench-%s-" % name) as d:
        stderr_path = os.path.join(d, "stderr.log")
        results = []
        for i in range(warmup + runs):
            r = one_run(path, base_env, stderr_path)
            if i >= warmup:
                results.append(r)
            if verbose or not r["ok"]:
                tag = "warmup" if i < warmup else "run %d/%d" % (i - warmup + 1, runs)
                if r["ok"]:
                    msg = "handshake %.1f ms, proto %d, peak RSS %.1f MB" % (
                        r["handshake_ms"], r["app_protocol"], r["peak_rss_mb"])
                else:
                    msg = "FAILED: " + r.get("error", "?")
                sys.stderr.write("bench: %s %s: %s\n" % (name, tag, msg))
    ok = [r for r in results if r["ok"]]
    errors = sorted({r.get("error", "") for r in results if not r["ok"]})
    protos = sorted({r["app_protocol"] for r in ok})
    return {
        "name": name,
        "path": path,
        "binary_mb": os.path.getsize(os.path.realpath(path)) / 1e6,
        "runs": runs,
        "ok_runs": len(ok),
        "failed_runs": runs - len(ok),
        "errors": errors[:5],
        "app_protocols": protos,
        "server_cert": any(r.get("server_cert") for r in ok),
        "handshake_ms": summarize([r["handshake_ms"] for r in ok]),
        "peak_rss_mb": summarize([r["peak_rss_mb"] for r in ok]),
        "samples": [{k: r.get(k) for k in ("ok", "handshake_ms", "peak_rss_mb", "app_protocol",
                                           "stopped_by", "error") if k in r} for r in results],
    }


def fmt(v, digits=1):
    return "n/a" if v is None else ("%.*f" % (digits, v))


def render_markdown(report):
    out = []
    out.append("## Provider handshake benchmark\n")
    out.append("runs per provider: %d (after %d warm-up), handshake timeout %.0f s, idle %.0f ms, "
               "client cert: %s\n" % (report["runs"], report["warmup"], HANDSHAKE_TIMEOUT_S,
                                      IDLE_S * 1000, report["cert_method"]))
    for p in report["providers"]:
        out.append("### %s%s\n" % (p["name"], " (ours)" if p["name"] == report["ours"] else ""))
        out.append("`%s` (%.1f MB) — %d/%d runs ok, protocol %s, server cert %s\n" % (
            p["path"], p["binary_mb"], p["ok_runs"], p["runs"],
            ",".join(str(x) for x in p["app_protocols"]) or "n/a",
            "yes" if p["server_cert"] else "no"))
        out.append("| metric | min | median | max |")
        out.append("| --- | ---: | ---: | ---: |")
        for key, label in (("handshake_ms", "handshake (ms)"), ("peak_rss_mb", "idle peak RSS (MB)")):
            s = p[key] or {}
            out.append("| %s | %s | %s | %s |" % (label, fmt(s.get("min")), fmt(s.get("median")),
                                                 fmt(s.get("max"))))
        if p["errors"]:
            out.append("")
            for e in p["errors"]:
                out.append("- failure: %s" % e)
        out.append("")
    if report["ratios"]:
        out.append("### Ratios %s / peer (median)\n" % report["ours"])
        out.append("| peer | handshake | idle peak RSS |")
        out.append("| --- | ---: | ---: |")
        for r in report["ratios"]:
            out.append("| %s | %s | %s |" % (r["peer"], fmt(r["handshake_median_ratio"], 2),
                                           fmt(r["peak_rss_median_ratio"], 2)))
        out.append("")
    return "\n".join(out)


def ratio(a, b):
    if not a or not b or not b["median"]:
        return None
    return a["median"] / b["median"]


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--provider", action="append", required=True, metavar="NAME=PATH",
                    help="provider binary to benchmark (repeatable; first one is ours)")
    ap.add_argument("--runs", type=int, default=30, help="measured runs per provider (default 30)")
    ap.add_argument("--warmup", type=int, default=1,
                    help="unmeasured warm-up runs per provider (default 1)")
    ap.add_argument("--ours", help="name of our provider (default: the first --provider)")
    ap.add_argument("--protocol-versions", default="5,6",
                    help="PLUGIN_PROTOCOL_VERSIONS offered, as Terraform >= 1.0 does (default 5,6)")
    ap.add_argument("--json", metavar="FILE", help="also write the results as JSON")
    ap.add_argument("-v", "--verbose", action="store_true", help="print every run to stderr")
    args = ap.parse_args(argv)

    if args.runs < 1 or args.warmup < 0:
        ap.error("--runs must be >= 1 and --warmup >= 0")
    providers = []
    for spec in args.provider:
        name, sep, path = spec.partition("=")
        if not sep or not name or not path:
            ap.error("--provider wants NAME=PATH, got %r" % spec)
        if any(n == name for n, _ in providers):
            ap.error("duplicate provider name %r" % name)
        if not (os.path.isfile(path) and os.access(path, os.X_OK)):
            ap.error("provider %s: %s is not an executable file" % (name, path))
        providers.append((name, os.path.abspath(path)))
    ours = args.ours or providers[0][0]
    if ours not in [n for n, _ in providers]:
        ap.error("--ours %r is not one of the providers" % ours)

    try:
        cert, cert_method = make_client_cert()
    except HarnessError as e:
        sys.stderr.write("bench: harness error: %s\n" % e)
        return 2

    env = dict(os.environ)
    env.update({
        MAGIC_COOKIE_KEY: MAGIC_COOKIE_VALUE,
        "PLUGIN_PROTOCOL_VERSIONS": args.protocol_versions,
        "PLUGIN_MIN_PORT": "10000",
        "PLUGIN_MAX_PORT": "25000",
        "PLUGIN_CLIENT_CERT": cert,
    })

    report = {"runs": args.runs, "warmup": args.warmup, "ours": ours, "cert_method": cert_method,
              "handshake_timeout_s": HANDSHAKE_TIMEOUT_S, "idle_ms": IDLE_S * 1000,
              "protocol_versions": args.protocol_versions, "providers": [], "ratios": []}
    try:
        for name, path in providers:
            sys.stderr.write("bench: %s: %d runs of %s\n" % (name, args.runs + args.warmup, path))
            report["providers"].append(
                bench_provider(name, path, args.runs, args.warmup, env, args.verbose))
    except HarnessError as e:
        sys.stderr.write("bench: harness error: %s\n" % e)
        return 2
    by_name = {p["name"]: p for p in report["providers"]}
    for p in report["providers"]:
        if p["name"] == ours:
            continue
        report["ratios"].append({
            "peer": p["name"],
            "handshake_median_ratio": ratio(by_name[ours]["handshake_ms"], p["handshake_ms"]),
            "peak_rss_median_ratio": ratio(by_name[ours]["peak_rss_mb"], p["peak_rss_mb"]),
        })

    print(render_markdown(report))
    if args.json:
        try:
            with open(args.json, "w") as f:
                json.dump(report, f, indent=2)
                f.write("\n")
        except OSError as e:
            sys.stderr.write("bench: harness error: cannot write %s: %s\n" % (args.json, e))
            return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
