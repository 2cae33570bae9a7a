# Entry points. `make demo` and `make test` do all their own set-up on a fresh machine.
SHELL := /bin/bash
PY_VERSION ?= python3
VENV := .venv
PY := $(VENV)/bin/python
PIP := $(VENV)/bin/pip
STAMP := $(VENV)/.installed
MPY_VM_VERSION := 1.29.0-6
MPY_VM := tools/node_modules/@micropython/micropython-webassembly-pyscript/micropython.mjs
CHROMIUM := /usr/bin/chromium
PYTEST_FAST := -m "not slow" -p no:cacheprovider

.PHONY: help install vm browser runtimes test test-fast test-vm mpy-compile lint demo bench hil-long flash-esp32 flash-nrf52 clean

help:
	@echo "make demo   - the whole system in simulation (server stub, simulated tokens, kiosk)"
	@echo "make test   - every test that runs on this machine (fast profile)"
	@echo "make bench  - benchmark tables"
	@echo "make lint   - ruff, and the ports type-checked against CircuitPython/MicroPython stubs"
	@echo "make hil-long - the long hardware-in-the-loop scenarios on the simulated bench"

$(STAMP): requirements.txt constraints.txt pyproject.toml
	test -x $(PY) || $(PY_VERSION) -m venv $(VENV)
	$(PIP) install -q --disable-pip-version-check -r requirements.txt -c constraints.txt
	$(PIP) install -q --disable-pip-version-check --no-deps -e .
	# The firmware is not a pip package: put firmware/ on the venv's path (core `robert_token`, host port `ports.host`).
	echo "$(CURDIR)/firmware" > $$($(PY) -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')/robert_firmware.pth
	touch $@

install: $(STAMP) vm

# The MicroPython VM (WebAssembly build, runs under Node.js), installed into tools/node_modules.
$(MPY_VM): tools/package.json
	cd tools && npm install --no-audit --no-fund --loglevel=error
	touch $@

vm: $(MPY_VM)

# Headless Chromium from Debian for the kiosk page tests (needs root, as on these machines).
browser:
	@test -x $(CHROMIUM) || { (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null) || echo "warning: could not install chromium; browser tests will be skipped"; }

# The real runtimes built from MICROPYTHON_SRC (default ../shared/third_party/micropython) into build/runtimes/:
# unix port with NimBLE (64- and 32-bit), QEMU Cortex-M3 board, CircuitPython's mpy-cross. Cached; see tools/runtimes.py.
runtimes: $(STAMP)
	$(PY) tools/runtimes.py all

test: install browser runtimes mpy-compile
	$(PY) -m pytest $(PYTEST_FAST) -n 2 --dist loadfile

# nRF52 files with CircuitPython's own mpy-cross (built by tools/runtimes.py, cached), ESP32 files with MicroPython's.
mpy-compile: $(STAMP)
	$(PY) tools/runtimes.py cp-mpy-cross
	$(PY) tools/mpy_compile.py

# ruff, then each port type-checked against its platform's published stubs (tools/lint_ports.py, baseline tools/lint_baseline.json).
lint: $(STAMP)
	$(VENV)/bin/ruff check .
	$(PY) tools/lint_ports.py

demo: install
	$(PY) -m hil_tests.sim.demo $(if $(KIOSK),--kiosk,)

bench: install
	$(PY) -m bench

hil-long: install
	$(PY) -m pytest hil_tests -m slow -p no:cacheprovider

flash-esp32: $(STAMP)
	$(PY) tools/flash.py esp32 --port $(PORT)

flash-nrf52: $(STAMP)
	$(PY) tools/runtimes.py cp-mpy-cross
	$(PY) tools/flash.py nrf52 --drive $(DRIVE)

clean:
	rm -rf $(VENV) tools/node_modules build *.egg-info
