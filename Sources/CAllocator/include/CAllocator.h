#ifndef BACKFILL_CALLOCATOR_H
#define BACKFILL_CALLOCATOR_H

/// Serves every allocation of `bytes` or more by mmap, so that it goes back to the system when freed (glibc only;
/// elsewhere nothing). glibc's default threshold rises after the first large free, keeping later large buffers in
/// heap arenas that fragment: archive periods of megabytes then made peak RSS grow with the months read.
void backfill_fix_mmap_threshold(int bytes);

#endif
