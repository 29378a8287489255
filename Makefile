# etcd-ops. The two commands a new machine needs: `make demo` and `make test`.
# Each runs `setup` first, which installs only what is missing.

SHELL := /bin/bash
TARGET ?= x86_64-unknown-linux-musl
VENV := .venv
CARGO ?= cargo
# Where cargo puts its output; honour the environment so a shared target dir works.
CARGO_TARGET_DIR ?= target
export CARGO_TARGET_DIR
LIBRARY := playbooks/library
# Another TARGET gets its cross toolchain on demand and its own playbook tree, build/<arch>/playbooks,
# whose library/ holds that architecture's modules: Ansible searches a playbook's adjacent library/
# before ANSIBLE_LIBRARY, so two architectures cannot share playbooks/library.
TARGET_ARCH := $(firstword $(subst -, ,$(TARGET)))
ifneq ($(TARGET),x86_64-unknown-linux-musl)
LIBRARY := build/$(TARGET_ARCH)/playbooks/library
build: setup-cross
endif
# A module is a crate under modules/ that ships a sidecar doc named after it.
MODULES := $(patsubst modules/%/,%,$(dir $(wildcard modules/*/*.yml)))
MODULES := $(foreach m,$(MODULES),$(if $(wildcard modules/$(m)/$(m).yml),$(m)))
LAB_DIR ?= lab

export PATH := $(CURDIR)/$(VENV)/bin:$(PATH)
export ANSIBLE_CONFIG := $(CURDIR)/ansible.cfg

.PHONY: setup build docs test lint fmt fuzz lab lab-down demo bench clean setup-cross check-aarch64 machines legacy-etcd firewalld-root

setup:
	@bash scripts/setup.sh

## Static, stripped, LTO release binaries with their docs, installed where playbooks find them.
build: setup
	$(CARGO) build --release --target $(TARGET) $(addprefix -p ,$(MODULES))
	@mkdir -p $(LIBRARY)
	@for m in $(MODULES); do \
	    install -m 0755 $(CARGO_TARGET_DIR)/$(TARGET)/release/$$m $(LIBRARY)/$$m || exit 1; \
	    install -m 0644 modules/$$m/$$m.yml $(LIBRARY)/$$m.yml || exit 1; \
	done
	@echo "installed into $(LIBRARY): $(MODULES)"

## The README's option tables and each sidecar's DOCUMENTATION.options, rendered from the built
## binaries' --spec (the spec that validates the options), then the sidecars installed again.
## modules_shipped fails when either drifts from the spec; this is the fix.
docs: build
	$(CARGO) run -q --release --target $(TARGET) -p etcd-ops-tests --bin docs -- $(LIBRARY)
	@for m in $(MODULES); do install -m 0644 modules/$$m/$$m.yml $(LIBRARY)/$$m.yml || exit 1; done

## Another TARGET's cross toolchain (only what is missing) and its playbook tree, whose playbooks,
## tasks/ and roles/ link to playbooks/ so an edit there needs no rebuild; stale links are dropped.
setup-cross:
	@bash scripts/setup-cross.sh $(TARGET)
	@mkdir -p $(LIBRARY) && cd $(LIBRARY)/.. && find . -maxdepth 1 -xtype l -delete && \
	    for f in ../../../playbooks/*; do [ "$${f##*/}" = library ] || ln -sfn "$$f" . || exit 1; done

## The aarch64 modules, run under qemu-user: static aarch64 ELF, --spec, a bad option, and
## etcd_cert/etcd_health/etcd_snapshot on a throwaway TLS etcd. Not in `make test`: cross LTO takes minutes.
check-aarch64:
	$(MAKE) build TARGET=aarch64-unknown-linux-musl
	@bash scripts/check-cross.sh aarch64-unknown-linux-musl build/aarch64/playbooks/library

## The read-only Debian tree lab machines boot from, built once and cached outside the work tree
## (LAB_MACHINE_CACHE, default /var/cache/etcd-ops); installs debootstrap and systemd-container
## only when they are missing.
machines:
	@bash scripts/machine-tree.sh >/dev/null

## The etcd versions OpenShift 3.x ran, built offline from their source tarballs in ETCD_SRC into
## build/etcd-<version>/{etcd,etcdctl} (cached by tarball hash); golang-go is installed only here.
## A missing tarball skips that version with a message naming it.
LEGACY_ETCD_VERSIONS ?= 3.3.11 3.2.32
ETCD_SRC ?= $(CURDIR)/../shared/etcd-src
export ETCD_SRC
legacy-etcd:
	@bash scripts/build-legacy-etcd.sh $(LEGACY_ETCD_VERSIONS)

## Debian's firewalld unpacked (not installed: installed, it would start filtering this host) into
## build/firewalld-root, which etcd_firewall's tests lay over /usr and /etc in namespaces of their own.
firewalld-root:
	@bash scripts/firewalld-root.sh

## Unit tests, then end-to-end tests against real etcd labs with real ansible-playbook.
## With cargo-nextest (on this machine kind) the test binaries run side by side, TEST_THREADS
## tests at a time: the end-to-end tests mostly wait on etcd and ssh, and each lab takes its own
## address slot, so this is where the time goes down. (Doc tests are not run for a --target
## build either way.)
TEST_THREADS ?= 4
test: build lint machines legacy-etcd firewalld-root
	@if $(CARGO) nextest --version >/dev/null 2>&1; then \
	    $(CARGO) nextest run --workspace --target $(TARGET) --no-fail-fast --test-threads $(TEST_THREADS); \
	else \
	    $(CARGO) test --workspace --target $(TARGET) --no-fail-fast; \
	fi

lint: setup
	$(CARGO) fmt --all -- --check
	$(CARGO) clippy --workspace --all-targets --target $(TARGET) -- -D warnings
	@if ls playbooks/*.yml >/dev/null 2>&1; then ansible-lint -q playbooks/*.yml; fi

fmt:
	$(CARGO) fmt --all

## Mutation fuzzing of every config parser; FUZZ_SECONDS in all (make test runs a short bounded pass).
FUZZ_SECONDS ?= 60
fuzz: setup
	$(CARGO) run --profile fuzz --target $(TARGET) -p confedit --example fuzz -- all $(FUZZ_SECONDS)
	$(CARGO) run --profile fuzz --target $(TARGET) -p etcd-datadir --example fuzz -- all $(FUZZ_SECONDS)

## A 3-member TLS lab on 127.0.0.11-13 (slot 0) with spare hosts, every host a machine reached over
## SSH; prints its inventory. LAB_KIND=process gives the old lab of directories (local connection).
LAB_KIND ?= machines
lab: build $(if $(filter machines,$(LAB_KIND)),machines)
	$(CARGO) run -q --release --target $(TARGET) -p etcd-ops-tests --bin etcd-lab -- up --dir $(LAB_DIR) --slot 0 --members 3 --spares 2 $(if $(filter machines,$(LAB_KIND)),--machines)

lab-down:
	@if [ -f $(LAB_DIR)/lab.json ]; then $(CARGO) run -q --release --target $(TARGET) -p etcd-ops-tests --bin etcd-lab -- down --dir $(LAB_DIR); fi

demo: build machines
	@bash scripts/demo.sh

bench: build
	@bash scripts/bench.sh

## An AWX/Tower project: dist/etcd-ops-<version>.tar.gz, the playbooks at its root with
## library/ beside them (scripts/dist.sh).
.PHONY: dist
dist: build
	@bash scripts/dist.sh

clean: lab-down
	$(CARGO) clean
	rm -rf $(LIBRARY) build

## The Ansible collection etcd_ops.etcd: build/etcd_ops-etcd-<version>.tar.gz (tree in build/collection/).
.PHONY: collection
collection: build
	@bash scripts/collection.sh
