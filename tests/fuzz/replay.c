/*
 * replay.c - run a harness over files, as libFuzzer would run one input:
 * the regression test of the corpus the fuzzers grew. Each operand is a
 * file or a directory of files. Prints the count; a crash is the failure.
 */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "fuzz.h"

static long run_file(const char *path)
{
	FILE *fp = fopen(path, "rb");
	uint8_t *data = NULL;
	size_t n = 0, a = 0, got;

	if (!fp) {
		perror(path);
		exit(2);
	}
	do {
		if (n == a) {
			uint8_t *p = realloc(data, a = a ? a * 2 : 4096);

			if (!p) {
				fprintf(stderr, "%s: out of memory\n", path);
				exit(2);
			}
			data = p;
		}
		got = fread(data + n, 1, a - n, fp);
		n += got;
	} while (got);
	fclose(fp);
	/* A copy of exactly n bytes, so reading past the end is caught. */
	{
		uint8_t *exact = malloc(n ? n : 1);

		if (!exact)
			exit(2);
		memcpy(exact, data, n);
		free(data);
		LLVMFuzzerTestOneInput(exact, n);
		free(exact);
	}
	return 1;
}

static long run(const char *path)
{
	struct stat sb;
	struct dirent **ent;
	long count = 0;
	int k;

	if (stat(path, &sb) < 0) {
		perror(path);
		exit(2);
	}
	if (!S_ISDIR(sb.st_mode))
		return run_file(path);
	if ((k = scandir(path, &ent, NULL, alphasort)) < 0) {
		perror(path);
		exit(2);
	}
	for (int i = 0; i < k; i++) {
		if (ent[i]->d_name[0] != '.') {
			size_t len = strlen(path) + strlen(ent[i]->d_name) + 2;
			char *sub = malloc(len);

			if (!sub)
				exit(2);
			snprintf(sub, len, "%s/%s", path, ent[i]->d_name);
			count += run(sub);
			free(sub);
		}
		free(ent[i]);
	}
	free(ent);
	return count;
}

int main(int argc, char **argv)
{
	long count = 0;

	for (int i = 1; i < argc; i++)
		count += run(argv[i]);
	printf("%ld inputs\n", count);
	return 0;
}
