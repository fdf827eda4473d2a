#!/usr/bin/env bash
# Create (or refresh) benchmarks/.venv-peers: the peer clients the benchmark compares llmplex with,
# plus llmplex itself installed editable from this checkout. Idempotent: a stamp file records the
# peer set, and a venv whose stamp matches is left alone; llmplex is (re)tried until it installs.
set -euo pipefail
cd "$(dirname "$0")"
PY=${PYTHON:-python3}
VENV=.venv-peers
REPO=$(cd .. && pwd)

PEERS=(
  aiohttp
  urllib3
  httpx
  openai
  anthropic
  litellm
  "any-llm-sdk[openai]"
  onellm
  psutil
)
# aisuite[openai] pins openai<2 while litellm needs openai>=2.20, so one resolver pass picks an old
# aisuite without async. aisuite's own code only calls openai.OpenAI/AsyncOpenAI chat completions,
# which openai 2.x keeps, so install the current aisuite over the venv's openai without its pins.
AISUITE=(aisuite docstring-parser)

STAMP="$VENV/.installed-$(printf '%s\n' "${PEERS[@]}" "${AISUITE[@]}" | sha1sum | cut -c1-12)"

if [ ! -x "$VENV/bin/python" ]; then
  "$PY" -m venv "$VENV"
fi
if [ ! -f "$STAMP" ]; then
  "$VENV/bin/python" -m pip install -q --upgrade pip
  "$VENV/bin/python" -m pip install -q "${PEERS[@]}"
  "$VENV/bin/python" -m pip install -q --no-deps "${AISUITE[@]}"
  rm -f "$VENV"/.installed-*
  touch "$STAMP"
fi

# llmplex from this checkout, editable, so the benchmark always measures the working tree; installed again
# when its pyproject.toml changes (new dependencies), and retried on every run until it installs.
LLMPLEX_STAMP="$VENV/.llmplex-$(sha1sum "$REPO/pyproject.toml" | cut -c1-12)"
if [ ! -f "$LLMPLEX_STAMP" ]; then
  if "$VENV/bin/python" -m pip install -q -e "$REPO" >"$VENV/llmplex-install.log" 2>&1; then
    rm -f "$VENV"/.llmplex-*
    touch "$LLMPLEX_STAMP"
  else
    echo "setup_peers: llmplex is not installable yet (see benchmarks/$VENV/llmplex-install.log);" \
      "its rows will be reported as pending" >&2
  fi
fi
echo "$VENV ready"
