/* A stand-in for Windows' bcryptprimitives.dll, for running Rust programs under Wine 8.
 *
 * Rust's std (>= 1.78) seeds its hash maps with ProcessPrng, imported from
 * bcryptprimitives.dll, which Wine 8 does not have: without this DLL every Rust program
 * fails to start under it. ProcessPrng fills a buffer with random bytes and cannot fail;
 * RtlGenRandom (advapi32's SystemFunction036), which Wine has, does the same. Not needed,
 * and not used, on Windows itself.
 */
#include <windows.h>
/* ntsecapi.h declares RtlGenRandom as a macro for SystemFunction036 without a calling
 * convention; give it the right one. */
#define SystemFunction036 NTAPI SystemFunction036
#include <ntsecapi.h>
#undef SystemFunction036

BOOL WINAPI ProcessPrng(PBYTE data, SIZE_T len)
{
    return RtlGenRandom(data, (ULONG)len);
}
