/* The libFuzzer entry point every harness in tests/fuzz/ defines. Built with
 * clang and -Dfuzz=true (scripts/dev.sh fuzz) the harnesses are fuzzers; in
 * every other build they are linked with replay.c and re-run their checked-in
 * corpus as ordinary test programs, so a crash once found stays fixed. */
#ifndef RUNOSD_FUZZ_H
#define RUNOSD_FUZZ_H

#include <stddef.h>
#include <stdint.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#endif
