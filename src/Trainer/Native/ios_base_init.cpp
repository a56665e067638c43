// Provides std::ios_base_library_init(), the iostream start-up hook GCC 13 added to libstdc++
// (GLIBCXX_3.4.32). libLibTorchSharp.so from the TorchSharp package references it; older
// libstdc++ builds (Debian 12 stops at 3.4.30) do not have it. Older libstdc++ initialises the
// standard streams through a static std::ios_base::Init per translation unit instead, so the
// hook only has to make sure one such object exists.
#include <ios>

namespace std {
void ios_base_library_init() {
    static ios_base::Init init;
}
}  // namespace std
