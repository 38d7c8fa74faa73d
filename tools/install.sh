#!/usr/bin/env bash
# One-command install of recs4r_mm and its whole stack into the active Python environment.
#
#   bash tools/install.sh [--wheel-dir DIR]
#
# Steps (each skipped when already satisfied, so a rerun takes seconds):
#   1. torch 2.13.0 + torchvision 0.28.0 (the registry's CUDA build: it also runs on CPU and, unlike
#      the +cpu build, has a matching torchvision; mmpretrain needs torchvision).
#   2. onedl-mmcv 2.3.6 with compiled ops: from a prebuilt wheel in --wheel-dir / $RECS4R_WHEEL_DIR
#      when one is offered, else built from source (~20 min on 2 cores; the built wheel is kept in
#      $RECS4R_CACHE, default ~/.cache/recs4r_mm/wheels, and reused next time).
#   3. onedl-mmengine / mmdetection / mmsegmentation / mmpretrain, transformers, pycocotools, pytest,
#      gradio (demo/web_demo.py) and playwright (its browser test).
#   4. recs4r_mm itself, editable.
#   5. the system Chromium the browser test drives (apt-get on Debian/Ubuntu; skipped when one is
#      found; RECS4R_CHROMIUM=/path/to/chrome names another). Playwright never downloads a browser.
# Every pip call is constrained by requirements/constraints.txt, so nothing can swap torch.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python}
WHEEL_DIR=${RECS4R_WHEEL_DIR:-}
CACHE=${RECS4R_CACHE:-$HOME/.cache/recs4r_mm/wheels}
while [ $# -gt 0 ]; do
  case "$1" in
    --wheel-dir) WHEEL_DIR=$2; shift 2 ;;
    *) echo "install.sh: unknown argument $1" >&2; exit 2 ;;
  esac
done
PIP=("$PY" -m pip install --disable-pip-version-check -c requirements/constraints.txt)
t0=$(date +%s)
log() { echo "[install $(( $(date +%s) - t0 ))s] $*"; }

# 1. torch + torchvision -----------------------------------------------------------------------
if "$PY" -c "import torch, torchvision, sys; from torchvision.ops import nms; sys.exit(torch.__version__.split('+')[0] != '2.13.0' or torchvision.__version__.split('+')[0] != '0.28.0')" 2>/dev/null; then
  log "torch/torchvision already OK: $("$PY" -c 'import torch, torchvision; print(torch.__version__, torchvision.__version__)')"
else
  log "installing torch 2.13.0 + torchvision 0.28.0"
  # '!=2.13.0+cpu' skips a local CPU-only file (which has no torchvision) where pip is set to prefer it.
  "$PY" -m pip install --disable-pip-version-check "torch==2.13.0,!=2.13.0+cpu" "torchvision==0.28.0"
fi

# 2. mmcv with compiled ops --------------------------------------------------------------------
MMCV_VERSION=$(sed -n 's/^onedl-mmcv==//p' requirements/mminstall.txt)
if "$PY" -c "import mmcv, mmcv.ops, sys; sys.exit(mmcv.__version__ != '$MMCV_VERSION')" 2>/dev/null; then
  log "mmcv $MMCV_VERSION with ops already installed"
else
  wheel=""
  for d in "$WHEEL_DIR" "$CACHE"; do
    [ -n "$d" ] && [ -d "$d" ] || continue
    wheel=$(ls "$d"/onedl_mmcv-"$MMCV_VERSION"-*.whl 2>/dev/null | head -n 1 || true)
    [ -n "$wheel" ] && break
  done
  if [ -z "$wheel" ]; then
    log "no prebuilt onedl-mmcv $MMCV_VERSION wheel offered: building its ops from source (about 20 min on 2 cores)"
    "${PIP[@]}" "setuptools>=77" wheel ninja
    mkdir -p "$CACHE"
    MMCV_WITH_OPS=1 MAX_JOBS=${MAX_JOBS:-$(nproc)} "$PY" -m pip wheel --disable-pip-version-check \
      --no-build-isolation --no-deps -w "$CACHE" "onedl-mmcv==$MMCV_VERSION"
    wheel=$(ls "$CACHE"/onedl_mmcv-"$MMCV_VERSION"-*.whl | head -n 1)
  fi
  log "installing $wheel"
  "${PIP[@]}" --no-deps "$wheel"
fi

# 3. the mm packages and the rest --------------------------------------------------------------
log "installing the OpenMMLab packages, transformers, pycocotools, gradio, pytest, playwright, the linters"
"${PIP[@]}" -r requirements/mminstall.txt -r requirements/runtime.txt -r requirements/demo.txt \
  -r requirements/tests.txt

# 4. recs4r_mm ---------------------------------------------------------------------------------
"${PIP[@]}" --no-deps -e .
"$PY" - <<'PY'
import importlib.metadata as md
import torch, torchvision, mmcv, mmcv.ops, mmengine, mmdet, mmseg, mmpretrain, transformers
import recs4r_mm
for dist in ('mmcv', 'mmengine', 'mmdet'):
    try:
        md.version(dist)
        raise SystemExit(f'install.sh: the original OpenMMLab distribution {dist!r} is also installed; '
                         f'it shadows the onedl-* one: pip uninstall {dist}')
    except md.PackageNotFoundError:
        pass
print('torch', torch.__version__, '| torchvision', torchvision.__version__, '| mmcv', mmcv.__version__,
      '| mmengine', mmengine.__version__, '| mmdet', mmdet.__version__, '| mmseg', mmseg.__version__,
      '| mmpretrain', mmpretrain.__version__, '| transformers', transformers.__version__,
      '| recs4r_mm', recs4r_mm.__version__)
PY

# 5. Chromium for the browser test (tests/test_tools/test_web_demo.py) --------------------------
find_chromium() {
  if [ -n "${RECS4R_CHROMIUM:-}" ]; then [ -x "$RECS4R_CHROMIUM" ] && echo "$RECS4R_CHROMIUM"; return 0; fi
  for name in chromium chromium-browser google-chrome google-chrome-stable; do
    command -v "$name" && return
  done
  return 0
}
no_chromium() {
  echo "install.sh: WARNING: $1" >&2
  echo "install.sh: WARNING: the browser test (tests/test_tools/test_web_demo.py) needs Chromium; it fails under CI=true and is skipped otherwise. Everything else is installed." >&2
}
chromium=$(find_chromium)
if [ -n "$chromium" ]; then
  log "Chromium already installed: $chromium"
elif ! command -v apt-get >/dev/null; then
  no_chromium "no Chromium and no apt-get: install Chromium with your package manager, or set RECS4R_CHROMIUM=/path/to/chrome"
else
  SUDO=()
  [ "$(id -u)" = 0 ] || SUDO=(sudo -n)
  if [ "$(id -u)" != 0 ] && ! { command -v sudo >/dev/null && sudo -n true 2>/dev/null; }; then
    no_chromium "not root and no password-less sudo: as root run 'apt-get update && apt-get install -y chromium', or set RECS4R_CHROMIUM=/path/to/chrome"
  else
    log "installing Chromium from the system packages (apt-get)"
    "${SUDO[@]}" apt-get update -qq
    # Debian ships 'chromium'; Ubuntu's 'chromium-browser' is a snap wrapper a container cannot run.
    if [ -n "$(apt-cache policy chromium 2>/dev/null | sed -n 's/^ *Candidate: //p' | grep -v '(none)')" ]; then
      "${SUDO[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends \
        chromium fonts-liberation fonts-dejavu-core >/dev/null
      chromium=$(find_chromium)
      [ -n "$chromium" ] && log "Chromium installed: $chromium" \
        || no_chromium "apt-get installed chromium but it is not on PATH"
    else
      no_chromium "no 'chromium' package here (Ubuntu's chromium-browser is a snap): install Google Chrome's .deb or Debian's chromium and set RECS4R_CHROMIUM=/path/to/chrome"
    fi
  fi
fi
[ -z "$chromium" ] || log "$("$chromium" --version 2>/dev/null || echo "$chromium")"
log "done"
