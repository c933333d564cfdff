/*
 * policy_tz.h - IANA time zones for the timestamp accessors of admission
 * rules, read from the system's compiled zoneinfo (TZif, RFC 8536).
 *
 * This is the one part of policy/ that does I/O (it opens files under
 * the zoneinfo directory on first use of a zone), so it lives in its own
 * library, libnsregpolicytz.a.  Zones are parsed once and cached; the
 * cache is guarded by a mutex, so one policy_tzdb serves every thread.
 */
#ifndef NSREG_POLICY_TZ_H
#define NSREG_POLICY_TZ_H

#include <stddef.h>
#include <stdint.h>

#include "policy.h"

struct policy_tzdb;

/*
 * A database reading TZif files under dir (NULL: $TZDIR, else
 * /usr/share/zoneinfo).  Returns NULL on allocation failure.  Files are
 * opened lazily; a missing zone is reported by the offset callback.
 */
struct policy_tzdb	*policy_tzdb_new(const char *dir);
void			 policy_tzdb_free(struct policy_tzdb *db);

/*
 * The callback to put in struct policy_options.tz.  Borrowed: valid while
 * db lives.
 */
const struct policy_tz	*policy_tzdb_tz(struct policy_tzdb *db);

/*
 * Parse TZif data (pure; exposed for tests): the UTC offset at utc_sec,
 * 0 or -1 when the data is not valid TZif.
 */
int			 policy_tzif_offset(const unsigned char *data,
			    size_t len, int64_t utc_sec, int32_t *offset);

#endif
