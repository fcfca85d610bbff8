#!/usr/bin/env bash
# Installs what `make release` builds every platform with (idempotent), from the registries
# this machine reaches:
#
#   Rust standard libraries (rustup target add) for the release targets:
#     x86_64-unknown-linux-musl, aarch64-unknown-linux-musl   static Linux binaries (no glibc)
#     x86_64-apple-darwin, aarch64-apple-darwin               macOS
#     x86_64-pc-windows-gnu                                   Windows
#   .testbed/venv-zig          ziglang (PyPI): zig, the C compiler and linker for every target
#   .testbed/zig-bin/zig       that zig, for cargo-zigbuild
#   .testbed/cargo-tools/bin/cargo-zigbuild                    (crates.io): cargo with zig as linker
#
# With --emulators it also installs, through apt-get when this runs as root, what the release
# test runs the foreign binaries with: qemu-user-static (linux_arm64) and wine with wine64
# (windows_amd64), and builds .testbed/wine/bcryptprimitives.dll, which Debian's wine lacks.
set -euo pipefail

ZIGLANG_VERSION=0.17.1
CARGO_ZIGBUILD_VERSION=0.24.1
TARGETS=(x86_64-unknown-linux-musl aarch64-unknown-linux-musl x86_64-apple-darwin aarch64-apple-darwin
         x86_64-pc-windows-gnu)

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
TB="$ROOT/.testbed"
log() { printf '[release-tools] %s\n' "$*" >&2; }

emulators=0
[[ "${1:-}" == "--emulators" ]] && emulators=1

installed=$(rustup target list --installed)
missing=()
for t in "${TARGETS[@]}"; do
  grep -qx "$t" <<<"$installed" || missing+=("$t")
done
if [[ ${#missing[@]} -gt 0 ]]; then
  log "rustup target add ${missing[*]}"
  rustup target add "${missing[@]}" >&2
fi

if ! "$TB/venv-zig/bin/python" -m ziglang version 2>/dev/null | grep -qx "$ZIGLANG_VERSION"; then
  log "ziglang $ZIGLANG_VERSION into $TB/venv-zig"
  "${PYTHON:-python3}" -m venv "$TB/venv-zig"
  "$TB/venv-zig/bin/pip" install --quiet --disable-pip-version-check "ziglang==$ZIGLANG_VERSION" >&2
fi
# cargo-zigbuild runs the `zig` it finds on PATH: the release build puts .testbed/zig-bin first.
zig=$("$TB/venv-zig/bin/python" -c 'import ziglang, os; print(os.path.join(os.path.dirname(ziglang.__file__), "zig"))')
mkdir -p "$TB/zig-bin"
ln -sf "$zig" "$TB/zig-bin/zig"

if ! "$TB/cargo-tools/bin/cargo-zigbuild" --version 2>/dev/null | grep -q " $CARGO_ZIGBUILD_VERSION\$"; then
  log "cargo-zigbuild $CARGO_ZIGBUILD_VERSION into $TB/cargo-tools"
  "${CARGO:-cargo}" install --quiet --locked --root "$TB/cargo-tools" "cargo-zigbuild@$CARGO_ZIGBUILD_VERSION" >&2
fi

if [[ $emulators -eq 1 ]]; then
  need=()
  command -v qemu-aarch64-static >/dev/null 2>&1 || need+=(qemu-user-static)
  # Debian's wine64 holds only the loader (/usr/lib/wine/wine64); wine puts `wine` on PATH.
  command -v wine >/dev/null 2>&1 || need+=(wine wine64)
  if [[ ${#need[@]} -gt 0 ]]; then
    if [[ $(id -u) -eq 0 ]] && command -v apt-get >/dev/null 2>&1; then
      log "apt-get install ${need[*]}"
      DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${need[@]}" >&2 \
        || { apt-get update -q >&2 && DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${need[@]}" >&2; }
    else
      log "not installed (needs root and apt-get): ${need[*]}"
    fi
  fi
  # Wine 8.0 lacks bcryptprimitives.dll, which Rust's standard library loads on Windows: the
  # release test puts this one beside the Windows binary (testbed/wine/bcryptprimitives.c).
  dll="$TB/wine/bcryptprimitives.dll" src="$ROOT/testbed/wine/bcryptprimitives.c"
  if [[ ! "$dll" -nt "$src" ]]; then
    log "bcryptprimitives.dll for wine into $TB/wine"
    mkdir -p "$TB/wine"
    "$TB/zig-bin/zig" cc -target x86_64-windows-gnu -shared -O2 -o "$dll" "$src" -lbcrypt >&2
    rm -f "$TB/wine/bcryptprimitives.pdb" "$TB/wine/bcryptprimitives.lib"
  fi
fi
