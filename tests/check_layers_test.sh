#!/usr/bin/env bash
# Test of scripts/check-layers: the real tree passes; a copy of include/, kernels/ and host/ with
# one planted include that points up or out fails, naming the planted file and the rule.
#   tests/check_layers_test.sh [ROOT]     # ROOT defaults to the repository root
set -euo pipefail
root="$(cd "${1:-$(dirname "$0")/..}" && pwd)"
check="$root/scripts/check-layers"
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT

"$check" "$root" || { echo "FAIL: check-layers rejects the real tree"; exit 1; }
cp -r "$root/include" "$root/kernels" "$root/host" "$tmp/"
"$check" "$tmp" >/dev/null || { echo "FAIL: check-layers rejects the copied tree"; exit 1; }

# plant FILE INCLUDE RULE: FILE with `#include "INCLUDE"` on its line 3 must fail with RULE.
fails=0
plant() {
  local file="$1" inc="$2" rule="$3" out rc=0
  mkdir -p "$(dirname "$tmp/$file")"
  printf '// planted by tests/check_layers_test.sh\n#pragma once\n#include "%s"\n' "$inc" \
    >"$tmp/$file"
  out="$("$check" "$tmp" 2>&1)" || rc=$?
  rm -f "$tmp/$file"
  if [ "$rc" -eq 0 ] || ! grep -qF "$file:3: #include \"$inc\"" <<<"$out" ||
    ! grep -qF "$rule" <<<"$out"; then
    echo "FAIL: $file including \"$inc\": expected a failure naming $file:3 and \"$rule\"," \
      "got (rc $rc):"
    echo "$out"
    fails=$((fails + 1))
  fi
}
plant kernels/bad.cuh ../host/api.cpp 'must not climb out with "../"'
plant kernels/bad.cuh ../host/api.cpp 'kernels/ must not include host/'
plant kernels/bad.cuh cpu/cpu_engine.hpp 'kernels/ must not include host/'
plant kernels/bad.cuh analysis/quadrature.hpp 'kernels/ must not include host/'
plant include/actgrad/bad.hpp cpu/cpu_engine.hpp 'include/ must not include host/'
plant include/actgrad/detail/bad.hpp host/api.cpp 'include/ must not include host/'
plant include/actgrad/bad.hpp elementwise_body.hpp 'include/ must not include kernels/'
plant host/cpu/bad.cpp ../cli/options.hpp 'must not climb out with "../"'
plant host/analysis/bad.cpp cli/options.hpp 'must not include host/cli/'
plant host/cpu/bad.cpp cli/options.hpp 'must not include host/cli/'
plant host/cli/bad.cpp actgrad/detail/call.hpp 'host/cli/ includes only the public API'
plant host/cli/bad.cpp elementwise_body.hpp 'host/cli/ includes only the public API'
[ "$fails" -eq 0 ] || exit 1
echo "check-layers: real tree passes, planted upward includes are caught"
