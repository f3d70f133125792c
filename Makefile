# Two commands do everything on a fresh machine (Debian, Python 3.11, root):
#   make demo   - the main job end to end on built-in defaults (HOSTS=5: over SSH on 5 test-bed hosts)
#   make test   - every test suite, ending with "N passed, N failed"
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: demo test unit integration sanity lint bench build docs clean setup proof

$(STAMP): requirements/dev.txt requirements/constraints.txt scripts/setup.sh $(wildcard service/pyproject.toml)
	scripts/setup.sh

setup: $(STAMP)

test: $(STAMP)
	$(PY) tests/run_all.py

unit: $(STAMP)
	$(PY) tests/run_all.py --suite pytest tests/unit

integration: $(STAMP)
	$(PY) tests/run_all.py --suite pytest tests/integration

sanity: $(STAMP)
	$(PY) tests/run_all.py --suite sanity --suite sanity-oldest --suite sanity-newest

demo: $(STAMP)
	$(PY) scripts/demo.py $(if $(HOSTS),--hosts $(HOSTS)) $(if $(TRANSPORT),--transport $(TRANSPORT))

# The proof of reliability (issue 11): every family's checks, long cases too; writes docs/reliability.md.
proof: $(STAMP)
	$(PY) scripts/proof.py

bench: $(STAMP)
	$(PY) tests/benchmarks/run.py

build: $(STAMP)
	$(VENV)/bin/ansible-galaxy collection build --force --output-path .build/dist .

docs: $(STAMP)
	$(PY) scripts/build_docs.py

clean:
	rm -rf .build tests/output
