/* Corpus replay for builds without libFuzzer: runs the harness's entry point
 * on every file of tests/fuzz/corpus/<name>/ (under RUNOS_TEST_SOURCE_ROOT,
 * or the directory given as the only argument). A crash is the failure; each
 * input that returns counts as passed. */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "testlib.h"

#ifndef FUZZ_NAME
#error "FUZZ_NAME must name the harness"
#endif

static unsigned char *read_file(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	if (!f)
		return NULL;
	unsigned char *buf = NULL;
	size_t cap = 0;
	*len = 0;
	for (;;) {
		if (*len == cap) {
			cap = cap ? 2 * cap : 4096;
			buf = realloc(buf, cap);
			if (!buf)
				abort();
		}
		size_t n = fread(buf + *len, 1, cap - *len, f);
		if (n == 0)
			break;
		*len += n;
	}
	fclose(f);
	return buf;
}

int main(int argc, char **argv)
{
	char dir[4096];
	const char *root = getenv("RUNOS_TEST_SOURCE_ROOT");
	if (argc > 1)
		snprintf(dir, sizeof(dir), "%s", argv[1]);
	else
		snprintf(dir, sizeof(dir), "%s/tests/fuzz/corpus/%s", root ? root : ".", FUZZ_NAME);

	test_current = FUZZ_NAME;
	DIR *d = opendir(dir);
	CHECK_MSG(d != NULL, "cannot open corpus %s", dir);
	struct dirent *e;
	while (d && (e = readdir(d))) {
		if (e->d_name[0] == '.')
			continue;
		char path[8192];
		snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
		size_t len = 0;
		unsigned char *data = read_file(path, &len);
		CHECK_MSG(data != NULL || len == 0, "cannot read %s", path);
		LLVMFuzzerTestOneInput(data ? data : (const uint8_t *)"", len);
		free(data);
		test_passed++;
	}
	if (d)
		closedir(d);
	CHECK_MSG(test_passed > 0, "empty corpus %s", dir);
	return test_summary("fuzz/" FUZZ_NAME);
}
