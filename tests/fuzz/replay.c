/* SPDX-License-Identifier: ISC */
/*
 * replay: a main() for fuzz targets when no fuzzer is linked in. It feeds
 * every file of the target's seed corpus (FUZZ_CORPUS, a directory set at
 * compile time, or the paths given as arguments) to
 * LLVMFuzzerTestOneInput once, so every `make check` replays the corpus
 * under the same build (and the sanitizers, in the sanitizer build).
 * A crash or sanitizer report fails the test; an empty corpus fails too.
 */
#include "config.h"

#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define REPLAY_MAX_INPUT (1024 * 1024)

static int
replay_file(const char *path)
{
	FILE *f;
	uint8_t *buf;
	size_t n;

	if ((f = fopen(path, "rb")) == NULL) {
		perror(path);
		return -1;
	}
	if ((buf = malloc(REPLAY_MAX_INPUT)) == NULL) {
		fclose(f);
		return -1;
	}
	n = fread(buf, 1, REPLAY_MAX_INPUT, f);
	fclose(f);
	/* Exact-size copy so ASan catches reads past the input. */
	{
		uint8_t *exact = malloc(n ? n : 1);

		if (exact == NULL) {
			free(buf);
			return -1;
		}
		memcpy(exact, buf, n);
		free(buf);
		LLVMFuzzerTestOneInput(exact, n);
		free(exact);
	}
	return 0;
}

static int
replay_path(const char *path, int *count)
{
	struct stat st;
	DIR *d;
	struct dirent *de;
	char sub[4096];
	int rc = 0;

	if (stat(path, &st) == -1) {
		perror(path);
		return -1;
	}
	if (!S_ISDIR(st.st_mode)) {
		(*count)++;
		return replay_file(path);
	}
	if ((d = opendir(path)) == NULL) {
		perror(path);
		return -1;
	}
	while ((de = readdir(d)) != NULL) {
		if (de->d_name[0] == '.')
			continue;
		snprintf(sub, sizeof(sub), "%s/%s", path, de->d_name);
		if (replay_path(sub, count) == -1)
			rc = -1;
	}
	closedir(d);
	return rc;
}

int
main(int argc, char **argv)
{
	int i, count = 0, rc = 0;

	if (argc > 1) {
		for (i = 1; i < argc; i++)
			if (replay_path(argv[i], &count) == -1)
				rc = 1;
	} else {
#ifdef FUZZ_CORPUS
		if (replay_path(FUZZ_CORPUS, &count) == -1)
			rc = 1;
#endif
	}
	if (count == 0) {
		fprintf(stderr, "replay: no corpus inputs found\n");
		return 1;
	}
	printf("replay: %d inputs, %s\n", count, rc ? "errors" : "ok");
	return rc;
}
