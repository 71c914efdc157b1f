/*
 * fuzz.h - the entry point every harness defines.
 *
 * Each fuzz-*.c feeds one parser the bytes it is given, as libFuzzer
 * does; built with clang -fsanitize=fuzzer it is a fuzzer (make fuzz),
 * linked with replay.c it runs the kept corpus as a regression test
 * (make check).
 */
#ifndef CRM_FUZZ_H
#define CRM_FUZZ_H
#include <stddef.h>
#include <stdint.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#endif
