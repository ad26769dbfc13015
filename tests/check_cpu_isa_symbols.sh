#!/usr/bin/env bash
# Checks that the CPU engine's per-instruction-set objects share no symbol: every weak (COMDAT)
# definition in them must live in their own isa_* namespace, or the linker could keep an AVX-512
# copy of a shared inline function for the baseline build's callers (host/cpu/cpu_isa.hpp).
#   check_cpu_isa_symbols.sh OBJECT...
set -euo pipefail
[ "$#" -gt 0 ] || { echo "usage: check_cpu_isa_symbols.sh OBJECT..." >&2; exit 2; }
status=0
for obj in "$@"; do
  syms=$(nm -C --defined-only "$obj") # fails (and so the test) on a missing or unreadable object
  # Weak definitions (W, V) and unique globals (u); DW.ref.__gxx_personality_v0 is a data pointer
  # every C++ object with exceptions carries, identical in all builds.
  shared=$(echo "$syms" | awk '$2 ~ /^[WVu]$/' |
    grep -v -e 'actgrad::detail::isa_[a-z0-9]*::' -e 'DW\.ref\.__gxx_personality_v0' || true)
  if [ -n "$shared" ]; then
    echo "$obj: weak symbols outside its isa_* namespace:"
    echo "$shared" | head -20
    status=1
  fi
done
[ "$status" -eq 0 ] && echo "check_cpu_isa_symbols: $# objects, no shared weak symbol"
exit "$status"
