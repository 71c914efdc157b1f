/*
 * pack.c - zstd frames in and out of growable buffers.
 */
#include <zstd.h>

#include "pack.h"

int crm_zstd_pack(const void *in, size_t n, struct crm_buf *out, struct crm_err *e)
{
	size_t cap = ZSTD_compressBound(n), r;

	if (crm_buf_grow(out, cap) < 0)
		return crm_err_set(e, CRM_ESOFTWARE, "out of memory");
	r = ZSTD_compress(out->data + out->len, cap, in, n, 9);
	if (ZSTD_isError(r))
		return crm_err_set(e, CRM_ESOFTWARE, "zstd: %s", ZSTD_getErrorName(r));
	out->len += r;
	return 0;
}

int crm_zstd_unpack(const void *in, size_t n, struct crm_buf *out, struct crm_err *e)
{
	unsigned long long size = ZSTD_getFrameContentSize(in, n);
	size_t r;

	if (size == ZSTD_CONTENTSIZE_ERROR || size == ZSTD_CONTENTSIZE_UNKNOWN || size > (1u << 30))
		return crm_err_set(e, CRM_EDATA, "not a zstd frame");
	if (crm_buf_grow(out, (size_t)size + 1) < 0)
		return crm_err_set(e, CRM_ESOFTWARE, "out of memory");
	r = ZSTD_decompress(out->data + out->len, (size_t)size, in, n);
	if (ZSTD_isError(r))
		return crm_err_set(e, CRM_EDATA, "zstd: %s", ZSTD_getErrorName(r));
	out->len += r;
	out->data[out->len] = 0;
	return 0;
}
