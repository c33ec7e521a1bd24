#ifndef BACKFILL_CZLIBCRC_H
#define BACKFILL_CZLIBCRC_H

#include <stddef.h>
#include <stdint.h>

/// The CRC-32 of a zip entry, continued over `count` more bytes, by the system zlib (whose crc32 is several times
/// faster than the table loop ZIPFoundation falls back to on Linux, where `canImport(zlib)` is false).
uint32_t backfill_crc32(uint32_t crc, const uint8_t *bytes, size_t count);

#endif
