#!/usr/bin/env bash
# Python virtualenv with the *Python* Kafka clients used by the interoperability tests
# (test/interop/python/): kafka-python and faust-streaming (+ aiokafka), all versions pinned.
#
#   bash scripts/python-env.sh            # create/update; prints the venv's python path on stdout
#   PY=$(bash scripts/python-env.sh)      # e.g. "$PY" test/interop/python/kafka_client.py ...
#   bash scripts/python-env.sh --force    # reinstall from scratch
#
# Environment:
#   PYTHON_ENV_DIR   venv location (default <repo>/.cache/venv)
#   PYTHON           interpreter used to create the venv (default python3; needs >= 3.10)
#   PIP_INDEX_URL    etc. are honoured by pip as usual
#
# Idempotent and fast on later runs: the pins are written to $PYTHON_ENV_DIR/.interop-pins after a
# successful install; if that file equals the pins below and the venv's python runs, nothing is done.
# Versions were chosen and tested against Apache Kafka 4.4.0, see docs/decisions/0002-python-interop.md.
# Progress goes to stderr; stdout is only the python path.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="${PYTHON_ENV_DIR:-$ROOT/.cache/venv}"
PYTHON="${PYTHON:-python3}"
MARKER="$VENV/.interop-pins"

# Top-level packages first, then every transitive dependency, so installs are reproducible.
# What older versions do against Kafka 4.x: see the ADR.
PINS="
kafka-python==3.0.12
faust-streaming==0.15.3
aiokafka==0.14.0
mode-streaming==0.7.1
aiohappyeyeballs==2.7.1
aiohttp==3.14.5
aiohttp-cors==0.8.1
aiosignal==1.4.0
async-timeout==5.0.1
attrs==26.1.0
click==8.3.3
colorlog==6.12.0
croniter==5.0.1
frozenlist==1.8.0
idna==3.20
intervaltree==3.2.1
multidict==7.2.1
mypy_extensions==1.2.0
packaging==26.4
propcache==0.5.4
python-dateutil==4.0.0
pytz==2026.6
six==1.17.0
sortedcontainers==2.4.0
terminaltables==3.1.10
typing_extensions==4.16.0
tzdata==2026.6
venusian==3.1.0
yarl==1.25.1
"
PINS="$(printf '%s\n' $PINS)" # one per line, no blanks

log() { printf '[python-env] %s\n' "$*" >&2; }

force=0
for arg in "$@"; do
  case "$arg" in
    --force) force=1 ;;
    -h|--help) sed -n '2,18p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) log "unknown argument: $arg"; exit 2 ;;
  esac
done

PY="$VENV/bin/python"

if [[ $force -eq 0 && -x "$PY" && -f "$MARKER" ]] && [[ "$(cat "$MARKER")" == "$PINS" ]] \
  && "$PY" -c 'import kafka, faust, aiokafka' >/dev/null 2>&1; then
  echo "$PY"
  exit 0
fi

start=$(date +%s)
if ! command -v "$PYTHON" >/dev/null 2>&1; then
  log "no '$PYTHON' found; install Python >= 3.10 or set PYTHON"
  exit 1
fi
if ! "$PYTHON" -c 'import sys; sys.exit(0 if sys.version_info >= (3, 10) else 1)'; then
  log "$("$PYTHON" --version 2>&1) is too old: faust-streaming 0.15 needs Python >= 3.10"
  exit 1
fi

if [[ $force -eq 1 && -d "$VENV" ]]; then
  log "removing $VENV"
  rm -rf "$VENV"
fi
if [[ ! -x "$PY" ]]; then
  log "creating venv $VENV ($("$PYTHON" --version 2>&1))"
  mkdir -p "$(dirname "$VENV")"
  if ! "$PYTHON" -m venv "$VENV" >&2; then
    log "python -m venv failed (on Debian/Ubuntu: apt-get install python3-venv)"
    exit 1
  fi
fi

rm -f "$MARKER"
reqs="$(mktemp)"
trap 'rm -f "$reqs"' EXIT
printf '%s\n' "$PINS" >"$reqs"
log "installing $(wc -l <"$reqs") pinned packages"
"$PY" -m pip install --disable-pip-version-check --no-input -q -r "$reqs" >&2
"$PY" -c 'import kafka, faust, aiokafka' >&2
printf '%s\n' "$PINS" >"$MARKER"
log "ready in $(( $(date +%s) - start ))s: kafka-python $("$PY" -c 'import kafka; print(kafka.__version__)'), faust-streaming $("$PY" -c 'import faust; print(faust.__version__)'), aiokafka $("$PY" -c 'import aiokafka; print(aiokafka.__version__)')"
echo "$PY"
