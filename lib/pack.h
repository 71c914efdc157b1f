/*
 * pack.h - zstd compression of stored blobs (models, transcripts).
 */
#ifndef CRM_PACK_H
#define CRM_PACK_H

#include <stddef.h>

#include "util.h"

/* Append the zstd frame (level 9) of in[0..n) to out. */
int crm_zstd_pack(const void *in, size_t n, struct crm_buf *out, struct crm_err *e);
/*
 * Append the content of the zstd frame in[0..n) to out, NUL-terminated
 * (not counted in len). The frame must record its content size (frames
 * from crm_zstd_pack do); CRM_EDATA when it is not a whole frame.
 */
int crm_zstd_unpack(const void *in, size_t n, struct crm_buf *out, struct crm_err *e);

#endif
