# terraform-provider-dataplatform
#   make demo   build, install the test bed, validate the examples and show the provider
#   make test   unit, RPC-level and acceptance tests (real Terraform 1.15.5 and 1.0.3)

SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
CARGO ?= cargo
TESTBED := .testbed/bin
PROVIDER := target/debug/terraform-provider-dataplatform

.PHONY: all build testbed test unit acceptance lint docs docs-check demo demo-clean bench fuzz sandbox sandbox-stop clean

all: build

build:
	$(CARGO) build --locked --bins

testbed: kube-sandbox
	bash testbed/install.sh

# The Kubernetes API server stand-in: a separate cargo project (own lock file and target dir).
.PHONY: kube-sandbox kube-sandbox-test
kube-sandbox:
	$(CARGO) build --locked --manifest-path testbed/kube-sandbox/Cargo.toml --target-dir target/kube-sandbox

kube-sandbox-test:
	$(CARGO) test --locked --manifest-path testbed/kube-sandbox/Cargo.toml --target-dir target/kube-sandbox

test: testbed lint docs-check
	$(CARGO) build --locked --bins --examples
	$(CARGO) test --locked --all-targets -- --test-threads=4
	$(MAKE) kube-sandbox-test

unit:
	$(CARGO) test --locked --lib --bins

acceptance: testbed
	$(CARGO) build --locked --bins --examples
	$(CARGO) test --locked --test acceptance

lint:
	$(CARGO) fmt --all -- --check
	$(CARGO) clippy --locked --all-targets -- -D warnings
	$(CARGO) fmt --manifest-path testbed/kube-sandbox/Cargo.toml -- --check
	$(CARGO) clippy --locked --manifest-path testbed/kube-sandbox/Cargo.toml --target-dir target/kube-sandbox --all-targets -- -D warnings

docs: build
	$(PROVIDER) docs

docs-check: build
	$(PROVIDER) docs --check

demo: build testbed
	bash testbed/demo.sh

demo-clean:
	bash testbed/demo-clean.sh

# The shipped linux_amd64 build: static (musl), built as make release builds it, with the
# test-only example providers beside it.
STATIC_TARGET := x86_64-unknown-linux-musl
STATIC_DIR := target/$(STATIC_TARGET)/release
STATIC_PROVIDER := $(STATIC_DIR)/terraform-provider-dataplatform
.PHONY: static acceptance-static
static:
	CARGO='$(CARGO)' bash testbed/release-tools.sh
	PATH="$(CURDIR)/.testbed/zig-bin:$$PATH" .testbed/cargo-tools/bin/cargo-zigbuild zigbuild --locked --release \
	  --target $(STATIC_TARGET) --bins --examples

# The whole acceptance suite against the static release build instead of this run's debug build.
# The test-only example providers come from the static build too, so no debug build of them.
acceptance-static: testbed static
	ACCEPTANCE_PROVIDER_DIR=$(CURDIR)/$(STATIC_DIR) $(CARGO) test --locked --test acceptance -- --test-threads=4

# Benchmarks (see BENCHMARKS.md): handshake, plans of BENCH_COUNT resources (also refreshing with
# 50 ms per AWS call), apply and destroy of the seed environment; BENCH_RUNS runs each. They run
# the static linux_amd64 build.
bench: testbed static
	.testbed/venv-tools/bin/python testbed/bench_handshake.py \
	  --provider dataplatform=$(STATIC_PROVIDER) \
	  --provider go-null=$(TESTBED)/terraform-provider-null \
	  --runs 30 --json target/bench-handshake.json
	.testbed/venv-tools/bin/python testbed/bench_plan.py \
	  --provider $(STATIC_PROVIDER) --thing-provider $(STATIC_DIR)/examples/acctest-provider \
	  --count $${BENCH_COUNT:-500} --runs $${BENCH_RUNS:-5} --latency-ms 50 --json target/bench-plan.json
	.testbed/venv-tools/bin/python testbed/bench_seed.py \
	  --provider $(STATIC_PROVIDER) --runs $${BENCH_RUNS:-5} --json target/bench-seed.json

sandbox: testbed
	bash testbed/aws_sandbox/start.sh

sandbox-stop:
	bash testbed/aws_sandbox/stop.sh

fuzz:
	cd fuzz && $(CARGO) fuzz --version >/dev/null 2>&1 || $(CARGO) install cargo-fuzz --locked
	# New inputs go to target/fuzz-corpus; the checked-in seeds in fuzz/corpus are read only.
	for t in msgpack_decode json_decode; do \
	  mkdir -p target/fuzz-corpus/$$t && \
	  RUSTC_BOOTSTRAP=1 $(CARGO) fuzz run $$t target/fuzz-corpus/$$t fuzz/corpus/$$t -- -max_total_time=$${FUZZ_SECONDS:-120} || exit 1; \
	done

# make release VERSION=x.y.z [TARGETS="rust-target-triple ..."]: static Linux (musl), macOS and
# Windows builds (cargo-zigbuild with zig from PyPI; testbed/release-tools.sh installs them), the
# registry zips, manifest, SHA256SUMS signed with RELEASE_GPG_KEY, a lock file entry and a
# filesystem mirror in target/release-artifacts/VERSION (testbed/release.sh).
.PHONY: release
release:
	@if [ -z "$(VERSION)" ]; then echo 'usage: make release VERSION=x.y.z [TARGETS="x86_64-unknown-linux-musl ..."]' >&2; exit 2; fi
	CARGO='$(CARGO)' bash testbed/release-tools.sh
	CARGO='$(CARGO)' bash testbed/release.sh $(foreach t,$(TARGETS),--target '$(t)') '$(VERSION)'

# The cross-built release of every platform, tested where it can run from here (linux_arm64 under
# qemu, windows_amd64 under wine, linux_amd64 natively; see acceptance/release_platforms.rs), then
# the whole acceptance suite against the static linux_amd64 build.
.PHONY: release-test
release-test: testbed
	CARGO='$(CARGO)' bash testbed/release-tools.sh --emulators
	rm -rf target/release-test
	CARGO='$(CARGO)' bash testbed/release.sh --out target/release-test 0.1.0
	$(CARGO) build --locked --bins --examples
	RELEASE_ARTIFACTS=$(CURDIR)/target/release-test $(CARGO) test --locked --test acceptance release_platforms -- --ignored --test-threads=1
	$(MAKE) acceptance-static

clean:
	$(CARGO) clean
	rm -rf .testbed
