/*
 * fuzz_conf.c - libFuzzer target: the configuration parser (nsregd.conf
 * text, read from memory).  A configuration that parses must dump.
 */
#include "config.h"

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "conf.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct conf	*c;
	FILE		*devnull;
	char		*text, errbuf[512];

	if ((text = malloc(size + 1)) == NULL)
		return 0;
	memcpy(text, data, size);
	text[size] = '\0';
	c = conf_parse("fuzz.conf", text, "/nonexistent", errbuf,
	    sizeof(errbuf));
	if (c != NULL) {
		if ((devnull = fopen("/dev/null", "w")) != NULL) {
			conf_dump(c, devnull);
			fclose(devnull);
		}
		conf_free(c);
	}
	free(text);
	return 0;
}
