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
