# crosshost.docker: the two commands a fresh Debian 12 machine (root) needs are `make demo` and `make test`.
SHELL := /bin/bash
.DEFAULT_GOAL := help

LAB_NAME ?= lab
LAB_HOSTS ?= 3
LAB_ENGINES ?= 20.10 26 28
# LAB_OS: ns (namespace hosts, the default) or debian12 (Debian 12 + systemd booted by systemd-nspawn, reached over SSH)
LAB_OS ?= ns
export LAB_NAME LAB_HOSTS LAB_ENGINES LAB_OS

# scripts/bootstrap.sh installs Debian packages and the pinned virtualenv (once), then prints its path.
BOOTSTRAP = scripts/bootstrap.sh
VENV_PY = "$$($(BOOTSTRAP))/bin/python"

.PHONY: help demo test bench lab-up lab-down lab-status lab-reboot units integration sanity lint collection-check ee-check

help:
	@echo "make demo        bring up the local lab ($(LAB_HOSTS) Docker hosts) and run the main playbook"
	@echo "make test        sanity, unit, lab integration (pytest + molecule), lint, build checks"
	@echo "make bench       throughput/latency of each scheme against the bare host, control-plane figures -> docs/benchmarks.md"
	@echo "make lab-up | lab-down | lab-status   manage the lab (LAB_NAME, LAB_HOSTS, LAB_ENGINES, LAB_OS=ns|debian12)"
	@echo "make lab-reboot [HOST=h2|rt|all]     power LAB_OS=debian12 hosts off and boot them again; HOST=rt resets the router"

lab-up:
	@LAB_PYTHON="$$($(BOOTSTRAP))/bin/python" python3 lab/lab.py up

lab-down:
	@python3 lab/lab.py down

lab-status:
	@python3 lab/lab.py status

lab-reboot:
	@HOST="$(HOST)" python3 lab/lab.py reboot

demo:
	@scripts/demo.sh

test:
	@scripts/test.sh

bench:
	@scripts/bench.sh

units:
	@scripts/test.sh units

integration:
	@scripts/test.sh integration

sanity:
	@scripts/sanity.sh

lint:
	@scripts/lint.sh

collection-check:
	@scripts/collection_check.sh

ee-check:
	@scripts/ee_check.sh
