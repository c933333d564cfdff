/*
 * ui_files.h - the console's static files, compiled in
 * (build-aux/embed-files.sh writes server/ui_files.c from ui/).
 */
#ifndef NSREG_UI_FILES_H
#define NSREG_UI_FILES_H

#include <stddef.h>

struct ui_file {
	const char		*name;	/* "app.js"; NULL ends the table */
	const unsigned char	*data;	/* len bytes, then a NUL */
	size_t			 len;
	const char		*etag;	/* "\"crc-size\"", quoted */
};

/* The files of ui/, in no particular order, ended by a NULL name. */
extern const struct ui_file ui_files[];

#endif
