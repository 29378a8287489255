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
# A module is a crate under modules/ that ships a sidecar doc named after it.
MODULES := $(patsubst modules/%/,%,$(dir $(wildcard modules/*/*.yml)))
MODULES := $(foreach m,$(MODULES),$(if $(wildcard modules/$(m)/$(m).yml),$(m)))
LAB_DIR ?= lab

export PATH := $(CURDIR)/$(VENV)/bin:$(PATH)
export ANSIBLE_CONFIG := $(CURDIR)/ansible.cfg

.PHONY: setup build test lint fmt fuzz lab lab-down demo bench clean

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

## Unit tests, then end-to-end tests against real etcd labs with real ansible-playbook.
test: build lint
	$(CARGO) test --workspace --target $(TARGET) --no-fail-fast

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

## A 3-member TLS lab on 127.0.0.11-13 (slot 0) with spare hosts; prints its inventory.
lab: build
	$(CARGO) run -q --release --target $(TARGET) -p etcd-ops-tests --bin etcd-lab -- up --dir $(LAB_DIR) --slot 0 --members 3 --spares 2

lab-down:
	@if [ -f $(LAB_DIR)/lab.json ]; then $(CARGO) run -q --release --target $(TARGET) -p etcd-ops-tests --bin etcd-lab -- down --dir $(LAB_DIR); fi

demo: build
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
	rm -rf $(LIBRARY)
