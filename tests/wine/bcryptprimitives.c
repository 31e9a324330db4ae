/*
 * A stand-in for Windows' bcryptprimitives.dll, for running the tests under
 * Wine 8, which lacks it. Rust's standard library on Windows gets its random
 * numbers (HashMap seeds) from ProcessPrng in this DLL; this one forwards to
 * RtlGenRandom (advapi32's SystemFunction036), which Wine has.
 * Built by tests/wine/run.sh with MinGW-w64; never shipped.
 */
#include <windows.h>

BOOLEAN WINAPI SystemFunction036(PVOID buffer, ULONG length);

__declspec(dllexport) BOOL WINAPI ProcessPrng(PBYTE data, SIZE_T length)
{
    while (length > 0) {
        ULONG chunk = length > 0x10000000 ? 0x10000000 : (ULONG)length;
        if (!SystemFunction036(data, chunk))
            return FALSE;
        data += chunk;
        length -= chunk;
    }
    return TRUE;
}
