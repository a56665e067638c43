#!/usr/bin/env bash
# Makes TorchSharp's libLibTorchSharp.so loadable where the system libstdc++ predates GCC 13.
#
# The library references one GCC 13 symbol, std::ios_base_library_init() (version GLIBCXX_3.4.32),
# and the loader refuses it on e.g. Debian 12, whose libstdc++ stops at 3.4.30. TorchSharp then
# reports a misleading "doesn't contain a reference to libtorch-cpu-linux-x64". The fix, applied to
# the copy in a build output only (never to the NuGet cache):
#   1. clear the version of that symbol reference;
#   2. mark the GLIBCXX_3.4.32 requirement weak, so a missing version is not fatal;
#   3. provide the symbol from a tiny library (ios_base_init.cpp) loaded as a DT_NEEDED with rpath $ORIGIN.
# On systems whose libstdc++ has GLIBCXX_3.4.32 nothing is touched.
#
# Usage: fix-libtorchsharp.sh <output-dir> <work-dir>
set -euo pipefail
out="$1"; work="$2"
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
lib="$out/libLibTorchSharp.so"
[ -f "$lib" ] || exit 0

stdcxx="$(/sbin/ldconfig -p 2>/dev/null | awk '/libstdc\+\+\.so\.6 .*x86-64/ {print $NF; exit}')"
if [ -n "$stdcxx" ] && grep -qa 'GLIBCXX_3\.4\.32' "$stdcxx"; then
  exit 0   # the system can load the package as shipped
fi
if ! command -v patchelf >/dev/null || ! command -v g++ >/dev/null; then
  echo "error: TorchSharp needs patching on this system (libstdc++ lacks GLIBCXX_3.4.32), which needs patchelf and g++." >&2
  echo "error: run ./tao (it installs them) or: apt-get install -y patchelf g++" >&2
  exit 1
fi

shim=libtao_iosinit.so
if patchelf --print-needed "$lib" | grep -qx "$shim" && [ -f "$out/$shim" ]; then
  exit 0   # already patched
fi

mkdir -p "$work"
if [ ! -f "$work/$shim" ] || [ "$here/ios_base_init.cpp" -nt "$work/$shim" ]; then
  g++ -O2 -shared -fPIC -o "$work/$shim.tmp" "$here/ios_base_init.cpp" && mv -f "$work/$shim.tmp" "$work/$shim"
fi
if [ ! -x "$work/weaken_verneed" ] || [ "$here/weaken_verneed.c" -nt "$work/weaken_verneed" ]; then
  gcc -O2 -o "$work/weaken_verneed.tmp" "$here/weaken_verneed.c" && mv -f "$work/weaken_verneed.tmp" "$work/weaken_verneed"
fi

# The output copy may be a hard link into the NuGet cache: patch a private copy and move it in place.
tmp="$lib.tao-patch.$$"
cp "$lib" "$tmp"
patchelf --clear-symbol-version _ZSt21ios_base_library_initv "$tmp"
"$work/weaken_verneed" "$tmp" GLIBCXX_3.4.32
patchelf --add-needed "$shim" "$tmp"
patchelf --set-rpath '$ORIGIN' "$tmp"
cp -f "$work/$shim" "$out/$shim"
mv -f "$tmp" "$lib"
echo "fix-libtorchsharp: patched $lib for libstdc++ without GLIBCXX_3.4.32"
