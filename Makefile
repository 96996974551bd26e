# GuiGui Chat: every target creates the virtual environment and installs what is missing.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
DATA_DIR ?= data
ARGS ?=

.PHONY: install run client install-desktop install-service dist-client test lint typecheck unit fuzz screenshots docs bench bench-store clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

# Reinstall when the project's dependencies change.
$(STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

## make install: the virtual environment (.venv) with the project and what it needs.
install: $(STAMP)

## make run: the server on the embedded SQLite store (data in ./data), with its admin
## panel and one client window beside it where there is a display (a console otherwise).
run: $(STAMP)
	@if [ -n "$$DISPLAY" ]; then $(BIN)/python run_client.py & fi; \
	$(BIN)/python run_server.py --data-dir $(DATA_DIR) $(ARGS)

## make client: one desktop client window.
client: $(STAMP)
	$(BIN)/python run_client.py

## make install-desktop: a "GuiGui Chat" launcher in the desktop's applications menu.
install-desktop: $(STAMP)
	mkdir -p $(HOME)/.local/share/applications
	sed -e "s|@PYTHON@|$(abspath $(BIN))/python|" -e "s|@ROOT@|$(CURDIR)|g" \
		packaging/guigui-chat.desktop.in > $(HOME)/.local/share/applications/guigui-chat.desktop
	@echo "installed $(HOME)/.local/share/applications/guigui-chat.desktop"

## make install-service: run the server as a systemd service, started at boot (as root,
## from the project's final place, e.g. /opt/guigui-chat; docs/INSTALL.md).
install-service: $(STAMP)
	id -u guigui >/dev/null 2>&1 || useradd --system --user-group \
		--home-dir /var/lib/guigui-chat --shell /usr/sbin/nologin guigui
	install -d -m 0750 -o root -g guigui /etc/guigui-chat
	[ -e /etc/guigui-chat/server.env ] || \
		install -m 0640 -o root -g guigui packaging/server.env.example /etc/guigui-chat/server.env
	sed -e "s|@ROOT@|$(CURDIR)|g" packaging/guigui-chat-server.service.in \
		> /etc/systemd/system/guigui-chat-server.service
	sed -e "s|@ROOT@|$(CURDIR)|g" packaging/guigui-server.in > /usr/local/sbin/guigui-server
	chmod 0755 /usr/local/sbin/guigui-server
	systemd-analyze verify /etc/systemd/system/guigui-chat-server.service
	systemctl daemon-reload
	systemctl enable --now guigui-chat-server
	systemctl --no-pager status guigui-chat-server

## make dist-client: the desktop client as one executable file, dist/guigui-chat
## (PyInstaller; it bundles Python, so the computers it is copied to need none).
dist-client: $(STAMP)
	@$(BIN)/python -c "import tkinter" 2>/dev/null || { echo "dist-client: this Python has no \
	tkinter, the client would be built without its window: apt-get install python3-tk" >&2; exit 1; }
	$(BIN)/python -m PyInstaller --noconfirm --log-level WARN --distpath dist \
		--workpath build/pyinstaller packaging/guigui-chat.spec
	@echo "built dist/guigui-chat: docs/DEPLOYMENT.md says how to install it and preset the server"

## make test: ruff, mypy, then the whole test suite.
test: lint typecheck unit

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: $(STAMP)
	$(BIN)/mypy

unit: $(STAMP)
	$(BIN)/python -m pytest $(ARGS)

## make fuzz: the stateful fuzz test, longer (GUIGUI_FUZZ_EXAMPLES, default 500 here).
fuzz: $(STAMP)
	GUIGUI_FUZZ_EXAMPLES=$${GUIGUI_FUZZ_EXAMPLES:-500} $(BIN)/python -m pytest \
		tests/security/test_fuzz.py -k server_under_fuzz -o timeout=3600 $(ARGS)

## make screenshots: run the GUI tests and keep their screenshots in docs/img/.
screenshots: $(STAMP)
	GUIGUI_SCREENSHOTS=docs $(BIN)/python -m pytest tests/client/gui tests/client/test_dist.py \
		tests/server/admin/test_panel.py tests/server/admin/test_panel_contrast.py $(ARGS)

## make docs: the developer documentation (API reference from the docstrings) in build/docs/.
docs: $(STAMP)
	$(BIN)/python -W error::UserWarning -W error::RuntimeWarning -m pdoc --docformat restructuredtext \
		-o build/docs guigui
	@echo "open build/docs/index.html"

## make bench: GuiGui and ngIRCd side by side, GuiGui's chat while two clients upload 25 MiB files,
## and GuiGui as a cluster of 1 and 2 nodes (MariaDB and Redis on this machine) (bench/fanout.py);
## QUICK=1 for a small run; BEFORE=REV adds a column: GuiGui at git revision REV, in the same
## run (an issue's before / after).
bench: $(STAMP)
	@command -v ngircd >/dev/null 2>&1 || [ -x /usr/sbin/ngircd ] || \
		(apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq ngircd)
	$(BIN)/python -m bench.fanout $(if $(QUICK),--quick) $(if $(BEFORE),--before $(BEFORE)) $(ARGS)

## make bench-store: stored messages per second on SQLite and on MariaDB (bench/).
bench-store: $(STAMP)
	$(BIN)/python -m bench.stored_messages $(ARGS)

clean:
	rm -rf $(VENV) .mypy_cache .ruff_cache .pytest_cache .hypothesis
