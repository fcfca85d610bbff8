/*
 * bcryptprimitives.dll for wine, built by testbed/release-tools.sh --emulators.
 *
 * Rust's standard library on Windows takes its random bytes from ProcessPrng in
 * bcryptprimitives.dll, which every Windows from 10 on has. Wine 8.0 (Debian 12's) has no
 * bcryptprimitives.dll, so the windows_amd64 binary would not load there at all. This DLL,
 * put beside the binary by the release test, gives ProcessPrng from the system's preferred
 * RNG through BCryptGenRandom, which wine does implement. It is never shipped.
 */
#include <windows.h>
#include <bcrypt.h>

BOOL WINAPI ProcessPrng(PBYTE data, SIZE_T len) {
    while (len > 0) {
        ULONG chunk = len > 0x40000000 ? 0x40000000 : (ULONG)len;
        if (BCryptGenRandom(NULL, data, chunk, BCRYPT_USE_SYSTEM_PREFERRED_RNG) != 0) {
            return FALSE;
        }
        data += chunk;
        len -= chunk;
    }
    return TRUE;
}
