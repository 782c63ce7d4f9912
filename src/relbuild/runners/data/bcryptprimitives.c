/*
 * bcryptprimitives.dll for Wine 8.0, which lacks it: Go >= 1.22 and
 * Rust >= 1.78 programs for Windows take their random bytes from
 * ProcessPrng and stop at start-up without it ("bcryptprimitives.dll not
 * found"). This DLL exports ProcessPrng and fills the buffer with
 * SystemFunction036 (RtlGenRandom, from advapi32), which takes at most a
 * ULONG of bytes per call. Used only to run tests under Wine; never shipped.
 *
 * Built by relbuild with its pinned zig, without a C library (so no CRT
 * start-up code and no import but advapi32):
 *   zig cc -target x86_64-windows-gnu -shared -O2 -s -nostdlib
 *          -Wl,--entry=DllMain -o bcryptprimitives.dll bcryptprimitives.c -ladvapi32
 */

typedef unsigned char BYTE;
typedef unsigned long ULONG; /* 32 bits on Windows (LLP64) */
typedef __SIZE_TYPE__ SIZE_T;

__declspec(dllimport) unsigned char __stdcall SystemFunction036(void *buffer, ULONG length);

int __stdcall DllMain(void *instance, ULONG reason, void *reserved)
{
    (void)instance;
    (void)reason;
    (void)reserved;
    return 1;
}

__declspec(dllexport) int __stdcall ProcessPrng(BYTE *data, SIZE_T length)
{
    while (length > 0) {
        ULONG chunk = length > 0xFFFFFFFFu ? 0xFFFFFFFFu : (ULONG)length;
        if (!SystemFunction036(data, chunk)) {
            return 0;
        }
        data += chunk;
        length -= chunk;
    }
    return 1; /* TRUE: Windows' own never fails */
}
