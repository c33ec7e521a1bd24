#include "CAllocator.h"

#if defined(__GLIBC__)
#include <malloc.h>
#endif

void backfill_fix_mmap_threshold(int bytes) {
#if defined(__GLIBC__)
    mallopt(M_MMAP_THRESHOLD, bytes);
#else
    (void)bytes;
#endif
}
