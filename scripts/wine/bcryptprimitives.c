/* Test-only stand-in for Windows' bcryptprimitives.dll under Wine 8, which
 * lacks it. Rust's std (1.78 and later) gets its random numbers from
 * ProcessPrng there; this forwards to advapi32's RtlGenRandom
 * (SystemFunction036), which Wine has, at most 1 GiB per call because its
 * length is 32-bit. Never shipped: scripts/install-wine builds it into
 * .tools/wine for the Windows test tier. */
typedef int BOOL;
typedef unsigned char BOOLEAN;
typedef unsigned long ULONG;
typedef unsigned long long SIZE_T;

__declspec(dllimport) BOOLEAN __stdcall SystemFunction036(void *buffer, ULONG length);

BOOL __stdcall DllMain(void *module, ULONG reason, void *reserved) {
  (void)module;
  (void)reason;
  (void)reserved;
  return 1;
}

__declspec(dllexport) BOOL __stdcall ProcessPrng(unsigned char *data, SIZE_T length) {
  while (length > 0) {
    ULONG chunk = length > 0x40000000ULL ? 0x40000000UL : (ULONG)length;
    if (!SystemFunction036(data, chunk)) {
      return 0;
    }
    data += chunk;
    length -= chunk;
  }
  return 1;
}
