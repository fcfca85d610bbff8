#!/usr/bin/env bash
# Builds a release of terraform-provider-dataplatform in the layout the Terraform registries use.
#
#   testbed/release.sh [--out DIR] [--target TRIPLE]... [--host] [--no-build]
#                      [--binary PATH [--platform OS_ARCH]] VERSION
#   make release VERSION=x.y.z [TARGETS="x86_64-unknown-linux-musl aarch64-unknown-linux-musl"]
#
# Platforms, built from this machine with zig as C compiler and linker (cargo-zigbuild; the tools
# come from testbed/release-tools.sh, which make release runs first):
#   linux_amd64    x86_64-unknown-linux-musl    static: no glibc, runs on any Linux (Alpine too)
#   linux_arm64    aarch64-unknown-linux-musl   static
#   darwin_amd64   x86_64-apple-darwin
#   darwin_arm64   aarch64-apple-darwin
#   windows_amd64  x86_64-pc-windows-gnu
# Without --target all five are built (the macOS ones only with SDKROOT pointing at a MacOSX.sdk:
# they link against its frameworks); --target picks some; --host builds for this machine only
# with the host toolchain; --binary packages an already built provider for this machine, or for
# OS_ARCH with --platform (checked to be an executable of it).
#
# Writes into DIR (default target/release-artifacts/VERSION):
#   terraform-provider-dataplatform_VERSION_OS_ARCH.zip   one per platform; the binary inside is
#                                                         terraform-provider-dataplatform_vVERSION
#   terraform-provider-dataplatform_VERSION_manifest.json registry manifest (protocol 6.0)
#   terraform-registry-manifest.json                      the same file under its repository name
#   terraform-provider-dataplatform_VERSION_SHA256SUMS    sha256sum of the zips and the manifest
#   terraform-provider-dataplatform_VERSION_SHA256SUMS.sig  detached binary GPG signature of it,
#                                                         when RELEASE_GPG_KEY names a secret key
#   terraform-provider-dataplatform_VERSION_signing-key.asc the signing key's public part (armored)
#   terraform-provider-dataplatform_VERSION_lock.hcl      a .terraform.lock.hcl entry for the release:
#                                                         the zh: (SHA256SUMS) and h1: hashes of every zip
#   mirror/registry.terraform.io/dataplatform/dataplatform/terraform-provider-dataplatform_VERSION_OS_ARCH.zip
#                                                         a filesystem mirror in the packed layout
#
# Signing: RELEASE_GPG_KEY is the key's fingerprint, ID or e-mail in the keyring of GNUPGHOME (or
# ~/.gnupg); RELEASE_GPG_PASSPHRASE its passphrase if it has one. Without RELEASE_GPG_KEY the
# release is written unsigned, with a warning (the registries refuse it).
#
# Platforms built on other machines are added by copying their zips into DIR and running the
# script again there with --no-build: the checksums, the signature, the lock entry and the mirror
# always cover every zip in DIR. Delete DIR to start over.

set -euo pipefail

usage() {
  echo "usage: $0 [--out DIR] [--target TRIPLE]... [--host] [--no-build] [--binary PATH [--platform OS_ARCH]] VERSION" >&2
  exit 2
}

NAME=terraform-provider-dataplatform
PROVIDER_ADDRESS=registry.terraform.io/dataplatform/dataplatform
CARGO=${CARGO:-cargo}
BUILD_TIMEOUT=${RELEASE_BUILD_TIMEOUT:-3600}

out=""
prebuilt_platform=""
host=0
build=1
prebuilt=""
targets=()
version=""
while [[ $# -gt 0 ]]; do
  case "$1" in
    --out) [[ $# -ge 2 ]] || usage; out=$2; shift 2 ;;
    --out=*) out=${1#--out=}; shift ;;
    --target) [[ $# -ge 2 ]] || usage; targets+=("$2"); shift 2 ;;
    --target=*) targets+=("${1#--target=}"); shift ;;
    --no-build) build=0; shift ;;
    --host) host=1; shift ;;
    --binary) [[ $# -ge 2 ]] || usage; prebuilt=$2; shift 2 ;;
    --platform) [[ $# -ge 2 ]] || usage; prebuilt_platform=$2; shift 2 ;;
    -h|--help) usage ;;
    -*) echo "unknown option $1" >&2; usage ;;
    *) [[ -z "$version" ]] || usage; version=$1; shift ;;
  esac
done
[[ -n "$version" ]] || usage

# Semantic versioning 2.0.0, without the leading "v" (the registry adds it to tags, not to files).
num='(0|[1-9][0-9]*)'
ident='(0|[1-9][0-9]*|[0-9]*[A-Za-z-][0-9A-Za-z-]*)'
semver="^${num}\.${num}\.${num}(-${ident}(\.${ident})*)?(\+[0-9A-Za-z-]+(\.[0-9A-Za-z-]+)*)?$"
if [[ ! "$version" =~ $semver ]]; then
  hint=""
  [[ "$version" == v* && "${version#v}" =~ $semver ]] && hint=" (drop the leading v: ${version#v})"
  echo "release: VERSION must be a semantic version such as 1.2.3 or 1.2.3-rc.1, got '$version'$hint" >&2
  exit 2
fi

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"
out=${out:-target/release-artifacts/$version}
mkdir -p "$out"
out=$(cd "$out" && pwd)

cargo_version=$(sed -n '/^\[package\]/,/^\[/ s/^version *= *"\(.*\)"/\1/p' Cargo.toml | head -n1)
if [[ "$cargo_version" != "$version" ]]; then
  echo "release: warning: VERSION $version differs from the version in Cargo.toml ($cargo_version)," \
    "which the binary reports with --version" >&2
fi

# Terraform's names for the platform of a Rust target triple (or of this machine, from uname).
platform_of_triple() {
  local arch os
  case "$1" in
    x86_64-*) arch=amd64 ;;
    aarch64-*|arm64-*) arch=arm64 ;;
    i686-*|i586-*|i386-*) arch=386 ;;
    arm*|thumbv7*) arch=arm ;;
    *) echo "release: unsupported target architecture in $1" >&2; return 1 ;;
  esac
  case "$1" in
    *-linux-*) os=linux ;;
    *-apple-darwin) os=darwin ;;
    *-windows-*) os=windows ;;
    *-freebsd) os=freebsd ;;
    *-openbsd) os=openbsd ;;
    *) echo "release: unsupported target operating system in $1" >&2; return 1 ;;
  esac
  echo "${os}_${arch}"
}

host_platform() {
  local os arch
  os=$(uname -s | tr '[:upper:]' '[:lower:]')
  case "$os" in
    linux|darwin|freebsd|openbsd) ;;
    mingw*|msys*|cygwin*) os=windows ;;
    *) echo "release: unsupported operating system $(uname -s)" >&2; return 1 ;;
  esac
  case "$(uname -m)" in
    x86_64|amd64) arch=amd64 ;;
    aarch64|arm64) arch=arm64 ;;
    i386|i686) arch=386 ;;
    armv6l|armv7l) arch=arm ;;
    *) echo "release: unsupported architecture $(uname -m)" >&2; return 1 ;;
  esac
  echo "${os}_${arch}"
}

# package BINARY PLATFORM: the registry zip for one platform.
package() {
  local binary=$1 platform=$2 exe=""
  [[ "$platform" == windows_* ]] && exe=.exe
  [[ -x "$binary" ]] || { echo "release: $binary is missing" >&2; return 1; }
  local zip="$out/${NAME}_${version}_${platform}.zip"
  # python3's zipfile: no zip binary needed; a fixed timestamp and mode make the zip (and so
  # its checksum) depend only on the binary.
  python3 - "$binary" "$zip" "${NAME}_v${version}${exe}" <<'PY'
import os, sys, zipfile
binary, target, member = sys.argv[1:4]
info = zipfile.ZipInfo(member, date_time=(1980, 1, 1, 0, 0, 0))
info.create_system = 3  # Unix, so the mode below is honoured when unpacking
info.external_attr = (0o100755 & 0xFFFF) << 16
info.compress_type = zipfile.ZIP_DEFLATED
tmp = target + ".tmp"
with open(binary, "rb") as f, zipfile.ZipFile(tmp, "w") as z:
    z.writestr(info, f.read(), compresslevel=9)
os.replace(tmp, target)
PY
  echo "release: $(basename "$zip")"
}

# The platforms a release has (see the top of this file).
RELEASE_TARGETS=(x86_64-unknown-linux-musl aarch64-unknown-linux-musl x86_64-apple-darwin aarch64-apple-darwin
                 x86_64-pc-windows-gnu)

# check_binary BINARY PLATFORM: the file is an executable of the platform; a Linux one needs no
# dynamic loader and no shared library (so no glibc).
check_binary() {
  local binary=$1 platform=$2 kind
  kind=$(file -b "$binary")
  case "$platform" in
    linux_amd64) [[ "$kind" == ELF\ 64-bit*x86-64* ]] ;;
    linux_arm64) [[ "$kind" == ELF\ 64-bit*ARM\ aarch64* ]] ;;
    darwin_amd64) [[ "$kind" == Mach-O\ 64-bit*x86_64* ]] ;;
    darwin_arm64) [[ "$kind" == Mach-O\ 64-bit*arm64* ]] ;;
    windows_amd64) [[ "$kind" == PE32+\ executable*x86-64* ]] ;;
    *) true ;;
  esac || { echo "release: $binary is not a $platform executable: $kind" >&2; return 1; }
  if [[ "$platform" == linux_* ]]; then
    if [[ "$kind" == *interpreter* ]] || objdump -p "$binary" | grep -q NEEDED; then
      echo "release: $binary is dynamically linked: $kind" >&2
      return 1
    fi
  fi
}

if [[ -n "$prebuilt" ]]; then
  # An already built provider: for this machine (the test suite packages its own build), or
  # with --platform for another one (a macOS build made on a Mac).
  platform=${prebuilt_platform:-$(host_platform)}
  if [[ "$platform" == "$(host_platform)" ]]; then
    "$prebuilt" --version >/dev/null 2>&1 || { echo "release: $prebuilt --version failed" >&2; exit 1; }
  else
    check_binary "$prebuilt" "$platform"
  fi
  package "$prebuilt" "$platform"
elif [[ $build -eq 1 && $host -eq 1 ]]; then
  platform=$(host_platform)
  echo "release: building $NAME $version for $platform" >&2
  timeout "$BUILD_TIMEOUT" "$CARGO" build --locked --release --bins
  binary=target/release/$NAME
  # The host binary must start: it prints its name and version.
  "$binary" --version >/dev/null 2>&1 || { echo "release: $binary --version failed" >&2; exit 1; }
  package "$binary" "$platform"
elif [[ $build -eq 1 ]]; then
  if [[ ${#targets[@]} -eq 0 ]]; then
    for t in "${RELEASE_TARGETS[@]}"; do
      # macOS binaries link against the Security and CoreFoundation frameworks, which only a
      # macOS SDK has: without SDKROOT they are built on a Mac (see the publishing guide).
      if [[ "$t" == *-apple-darwin && -z "${SDKROOT:-}" ]]; then
        echo "release: skipping $(platform_of_triple "$t"): set SDKROOT to a MacOSX.sdk to build it here" >&2
        continue
      fi
      targets+=("$t")
    done
  fi
  zigbuild="$root/.testbed/cargo-tools/bin/cargo-zigbuild"
  [[ -x "$zigbuild" ]] || { echo "release: $zigbuild is missing: run testbed/release-tools.sh" >&2; exit 1; }
  for triple in "${targets[@]}"; do
    platform=$(platform_of_triple "$triple")
    exe=""
    [[ "$platform" == windows_* ]] && exe=.exe
    echo "release: building $NAME $version for $platform ($triple)" >&2
    started=$SECONDS
    # zig comes from .testbed/venv-zig (cargo-zigbuild runs `python3 -m ziglang`).
    PATH="$root/.testbed/zig-bin:$PATH" timeout "$BUILD_TIMEOUT" \
      "$zigbuild" zigbuild --locked --release --bins --target "$triple"
    binary="target/$triple/release/$NAME$exe"
    check_binary "$binary" "$platform"
    echo "release: $platform: $(wc -c <"$binary" | tr -d ' ') bytes, built in $((SECONDS - started)) s" >&2
    package "$binary" "$platform"
  done
fi

shopt -s nullglob
zips=("$out/${NAME}_${version}_"*.zip)
shopt -u nullglob
[[ ${#zips[@]} -gt 0 ]] || { echo "release: no ${NAME}_${version}_*.zip in $out" >&2; exit 1; }

manifest=${NAME}_${version}_manifest.json
printf '{\n  "version": 1,\n  "metadata": {\n    "protocol_versions": ["6.0"]\n  }\n}\n' >"$out/$manifest"
cp "$out/$manifest" "$out/terraform-registry-manifest.json"

# sha256sum format ("HASH  NAME"), names sorted, as the registries expect.
(
  cd "$out"
  names=()
  for z in "${zips[@]}"; do names+=("$(basename "$z")"); done
  names+=("$manifest")
  printf '%s\n' "${names[@]}" | LC_ALL=C sort | xargs sha256sum >"${NAME}_${version}_SHA256SUMS.tmp"
  mv "${NAME}_${version}_SHA256SUMS.tmp" "${NAME}_${version}_SHA256SUMS"
)

sums="$out/${NAME}_${version}_SHA256SUMS"
rm -f "$sums.sig" "$out/${NAME}_${version}_signing-key.asc"
if [[ -n "${RELEASE_GPG_KEY:-}" ]]; then
  gpg_args=(--batch --yes --local-user "$RELEASE_GPG_KEY")
  if [[ -n "${RELEASE_GPG_PASSPHRASE:-}" ]]; then
    gpg_args+=(--pinentry-mode loopback --passphrase-fd 0)
  fi
  # A detached binary signature, which is what the registry protocol serves as shasums_signature.
  printf '%s' "${RELEASE_GPG_PASSPHRASE:-}" | gpg "${gpg_args[@]}" --detach-sign --output "$sums.sig" "$sums"
  gpg --batch --armor --export "$RELEASE_GPG_KEY" >"$out/${NAME}_${version}_signing-key.asc"
  [[ -s "$out/${NAME}_${version}_signing-key.asc" ]] || { echo "release: no public key for $RELEASE_GPG_KEY" >&2; exit 1; }
  gpg --batch --verify "$sums.sig" "$sums" 2>/dev/null || { echo "release: the signature does not verify" >&2; exit 1; }
  echo "release: signed $(basename "$sums") with $RELEASE_GPG_KEY" >&2
else
  echo "release: warning: RELEASE_GPG_KEY is not set: $(basename "$sums") is not signed, which registries refuse" >&2
fi

# The lock file entry: zh: is the zip's sha256 (what a registry install records from the signed
# SHA256SUMS); h1: is Terraform's hash of the unpacked package (sha256 over the sorted lines
# "<sha256 of file>  <name>", base64). A filesystem mirror alone only yields the h1: hash of the
# platform that ran `terraform init`.
python3 - "$out/${NAME}_${version}_lock.hcl" "$PROVIDER_ADDRESS" "$version" "${zips[@]}" <<'PY'
import base64, hashlib, sys, zipfile
target, address, version, zips = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4:]
hashes = set()
for path in zips:
    with open(path, "rb") as f:
        hashes.add("zh:" + hashlib.sha256(f.read()).hexdigest())
    with zipfile.ZipFile(path) as z:
        lines = "".join(
            "%s  %s\n" % (hashlib.sha256(z.read(i)).hexdigest(), i.filename)
            for i in sorted(z.infolist(), key=lambda i: i.filename)
            if not i.is_dir()
        )
    hashes.add("h1:" + base64.b64encode(hashlib.sha256(lines.encode()).digest()).decode())
body = "".join('    "%s",\n' % h for h in sorted(hashes))
with open(target, "w") as f:
    f.write(
        "# Dependency lock entry for %s %s: every platform package of the release.\n"
        "# Use it as .terraform.lock.hcl (or merge the block into one), then `terraform init`\n"
        "# accepts only packages with these checksums.\n\n"
        'provider "%s" {\n  version = "%s"\n  hashes = [\n%s  ]\n}\n'
        % (address, version, address, version, body)
    )
PY

# The filesystem mirror, packed layout: HOSTNAME/NAMESPACE/TYPE/terraform-provider-TYPE_VERSION_OS_ARCH.zip
# (the zip names above already follow it).
mirror_dir="$out/mirror/$PROVIDER_ADDRESS"
rm -rf "$out/mirror"
mkdir -p "$mirror_dir"
for z in "${zips[@]}"; do
  cp "$z" "$mirror_dir/"
done

echo "release: $out"
(cd "$out" && cat "${NAME}_${version}_SHA256SUMS")
