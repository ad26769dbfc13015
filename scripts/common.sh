# Shared shell setup for scripts/: repo root, CUDA on PATH, job count, compiler launchers.
# shellcheck shell=bash
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
if [ -d /usr/local/cuda/bin ] && ! command -v nvcc >/dev/null 2>&1; then
  export PATH="/usr/local/cuda/bin:$PATH"
fi
JOBS="$(nproc)"
# CUDA architectures: CI and tests build sm_90 only to save compile time; users get 80;90.
CUDA_ARCHS="${ACTGRAD_CUDA_ARCHS:-90}"
LAUNCHERS=()
if command -v ccache >/dev/null 2>&1; then
  LAUNCHERS=(-DCMAKE_CXX_COMPILER_LAUNCHER=ccache -DCMAKE_CUDA_COMPILER_LAUNCHER=ccache)
fi
# The Python environment (scripts/setup-python) and `pip install .` of the package into it.
VENV="${ACTGRAD_VENV:-$ROOT/build/venv}"
pip_install_actgrad() { # extra pip arguments...
  local cfg=(--config-settings=build-dir="$ROOT/build/python"
    --config-settings=cmake.define.CMAKE_CUDA_ARCHITECTURES="${CUDA_ARCHS}")
  if [ ${#LAUNCHERS[@]} -gt 0 ]; then
    cfg+=(--config-settings=cmake.define.CMAKE_CXX_COMPILER_LAUNCHER=ccache
      --config-settings=cmake.define.CMAKE_CUDA_COMPILER_LAUNCHER=ccache)
  fi
  "$VENV/bin/python" -m pip install -q --disable-pip-version-check "${cfg[@]}" "$@" "$ROOT"
}
