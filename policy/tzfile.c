/*
 * tzfile.c - TZif (RFC 8536) time zones for the timestamp accessors.
 *
 * A zone's offset at an instant comes from its transition table; past the
 * last transition, from the POSIX TZ string in the file's footer
 * ("AEST-10AEDT,M10.1.0,M4.1.0/3"), which is how "slim" TZif files
 * describe the present.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cel.h"
#include "policy_tz.h"

#define TZ_FILE_MAX	(256 * 1024)
#define TZ_NAME_MAX	128

static uint32_t
be32(const unsigned char *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 |
	    (uint32_t)p[2] << 8 | p[3];
}

static int64_t
be64(const unsigned char *p)
{
	return (int64_t)((uint64_t)be32(p) << 32 | be32(p + 4));
}

/* ------------------------------------------------------------ POSIX TZ */

struct posix_rule {
	int	kind;		/* 'M', 'J', 'n' */
	int	m, w, d;	/* Mm.w.d; J/n day in d */
	int32_t	time;		/* seconds after local midnight */
};

struct posix_tz {
	int32_t			std_off;	/* UTC offset, east positive */
	int32_t			dst_off;
	int			has_dst;
	struct posix_rule	start, end;
};

static const char *
ptz_name(const char *s)
{
	if (*s == '<') {
		while (*s != '\0' && *s != '>')
			s++;
		return *s == '>' ? s + 1 : NULL;
	}
	if (!((*s >= 'A' && *s <= 'Z') || (*s >= 'a' && *s <= 'z')))
		return NULL;
	while ((*s >= 'A' && *s <= 'Z') || (*s >= 'a' && *s <= 'z'))
		s++;
	return s;
}

/* [+-]hh[:mm[:ss]] into seconds. */
static const char *
ptz_hms(const char *s, int32_t *out)
{
	int sign = 1, part = 0;
	int32_t v[3] = { 0, 0, 0 };

	if (*s == '+' || *s == '-')
		sign = *s++ == '-' ? -1 : 1;
	if (*s < '0' || *s > '9')
		return NULL;
	for (;;) {
		while (*s >= '0' && *s <= '9')
			v[part] = v[part] * 10 + (*s++ - '0');
		if (*s != ':' || part == 2)
			break;
		s++;
		part++;
	}
	if (v[0] > 167)
		return NULL;
	*out = sign * (v[0] * 3600 + v[1] * 60 + v[2]);
	return s;
}

static const char *
ptz_rule(const char *s, struct posix_rule *r)
{
	char *end;

	r->time = 7200;
	if (*s == 'M') {
		r->kind = 'M';
		r->m = (int)strtol(s + 1, &end, 10);
		if (*end != '.')
			return NULL;
		r->w = (int)strtol(end + 1, &end, 10);
		if (*end != '.')
			return NULL;
		r->d = (int)strtol(end + 1, &end, 10);
		if (r->m < 1 || r->m > 12 || r->w < 1 || r->w > 5 ||
		    r->d < 0 || r->d > 6)
			return NULL;
	} else if (*s == 'J') {
		r->kind = 'J';
		r->d = (int)strtol(s + 1, &end, 10);
	} else if (*s >= '0' && *s <= '9') {
		r->kind = 'n';
		r->d = (int)strtol(s, &end, 10);
	} else
		return NULL;
	s = end;
	if (*s == '/')
		s = ptz_hms(s + 1, &r->time);
	return s;
}

static int
ptz_parse(const char *s, struct posix_tz *tz)
{
	int32_t off;

	memset(tz, 0, sizeof(*tz));
	s = ptz_name(s);
	if (s == NULL || (s = ptz_hms(s, &off)) == NULL)
		return -1;
	tz->std_off = -off;
	if (*s == '\0')
		return 0;
	s = ptz_name(s);
	if (s == NULL)
		return -1;
	tz->has_dst = 1;
	tz->dst_off = tz->std_off + 3600;
	if (*s != ',' && *s != '\0') {
		s = ptz_hms(s, &off);
		if (s == NULL)
			return -1;
		tz->dst_off = -off;
	}
	if (*s != ',')
		return -1;	/* rules are required in TZif footers */
	s = ptz_rule(s + 1, &tz->start);
	if (s == NULL || *s != ',')
		return -1;
	s = ptz_rule(s + 1, &tz->end);
	if (s == NULL || *s != '\0')
		return -1;
	return 0;
}

/* Local seconds since the epoch at which rule r fires in year y. */
static int64_t
ptz_when(const struct posix_rule *r, int64_t y)
{
	int64_t days;
	int leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;

	switch (r->kind) {
	case 'J':
		days = cel_days_from_civil(y, 1, 1) + r->d - 1;
		if (leap && r->d >= 60)
			days++;
		break;
	case 'n':
		days = cel_days_from_civil(y, 1, 1) + r->d;
		break;
	default: {
		int64_t first = cel_days_from_civil(y, r->m, 1);
		int wday = (int)(((first % 7) + 11) % 7);
		int dd = (r->d - wday + 7) % 7;
		int64_t y2 = r->m == 12 ? y + 1 : y;
		int m2 = r->m == 12 ? 1 : r->m + 1;
		int mdays = (int)(cel_days_from_civil(y2, m2, 1) - first);

		dd += (r->w - 1) * 7;
		while (dd >= mdays)
			dd -= 7;
		days = first + dd;
		break;
	}
	}
	return days * 86400 + r->time;
}

static int32_t
ptz_offset(const struct posix_tz *tz, int64_t t)
{
	int64_t days, y, start, end;
	int m, d;

	if (!tz->has_dst)
		return tz->std_off;
	days = (t + tz->std_off) / 86400;
	if ((t + tz->std_off) % 86400 < 0)
		days--;
	cel_civil_from_days(days, &y, &m, &d);
	start = ptz_when(&tz->start, y) - tz->std_off;
	end = ptz_when(&tz->end, y) - tz->dst_off;
	if (start < end)
		return t >= start && t < end ? tz->dst_off : tz->std_off;
	return t >= end && t < start ? tz->std_off : tz->dst_off;
}

/* ------------------------------------------------------------ TZif */

int
policy_tzif_offset(const unsigned char *p, size_t len, int64_t t,
    int32_t *offset)
{
	uint32_t isutcnt, isstdcnt, leapcnt, timecnt, typecnt, charcnt;
	size_t hdr = 44, tsz = 4, body;
	const unsigned char *times, *idx, *types;
	int version, i, lo, hi, k = -1;

	if (len < hdr || memcmp(p, "TZif", 4) != 0)
		return -1;
	version = p[4];
	for (;;) {
		isutcnt = be32(p + 20);
		isstdcnt = be32(p + 24);
		leapcnt = be32(p + 28);
		timecnt = be32(p + 32);
		typecnt = be32(p + 36);
		charcnt = be32(p + 40);
		if (timecnt > 100000 || typecnt == 0 || typecnt > 256 ||
		    charcnt > 100000 || leapcnt > 100000 || isutcnt > 256 ||
		    isstdcnt > 256)
			return -1;
		body = timecnt * tsz + timecnt + typecnt * 6 + charcnt +
		    leapcnt * (tsz + 4) + isstdcnt + isutcnt;
		if (len < hdr + body)
			return -1;
		if (version >= '2' && tsz == 4) {
			/* Skip the 32-bit block for the 64-bit one. */
			p += hdr + body;
			len -= hdr + body;
			if (len < hdr || memcmp(p, "TZif", 4) != 0)
				return -1;
			tsz = 8;
			continue;
		}
		break;
	}
	times = p + hdr;
	idx = times + timecnt * tsz;
	types = idx + timecnt;
	/* The last transition at or before t. */
	lo = 0;
	hi = (int)timecnt - 1;
	while (lo <= hi) {
		int mid = (lo + hi) / 2;
		int64_t at = tsz == 8 ? be64(times + (size_t)mid * 8) :
		    (int32_t)be32(times + (size_t)mid * 4);

		if (at <= t) {
			k = mid;
			lo = mid + 1;
		} else
			hi = mid - 1;
	}
	if (k == (int)timecnt - 1 && tsz == 8) {
		/* Past the table: the footer's TZ string, if any. */
		const unsigned char *f = p + hdr + body;
		const unsigned char *e;
		char buf[128];
		struct posix_tz ptz;

		if (f < p + len && *f == '\n') {
			e = memchr(f + 1, '\n', (size_t)(p + len - f - 1));
			if (e != NULL && e > f + 1 &&
			    (size_t)(e - f - 1) < sizeof(buf)) {
				memcpy(buf, f + 1, (size_t)(e - f - 1));
				buf[e - f - 1] = '\0';
				if (ptz_parse(buf, &ptz) == 0) {
					*offset = ptz_offset(&ptz, t);
					return 0;
				}
			}
		}
	}
	if (k < 0) {
		/* Before the first transition: the first standard type. */
		for (i = 0; i < (int)typecnt; i++)
			if (types[i * 6 + 4] == 0)
				break;
		k = i < (int)typecnt ? i : 0;
	} else {
		k = idx[k];
		if (k >= (int)typecnt)
			return -1;
	}
	*offset = (int32_t)be32(types + (size_t)k * 6);
	return 0;
}

/* ------------------------------------------------------------ database */

struct zone {
	struct zone	*next;
	char		 name[TZ_NAME_MAX];
	unsigned char	*data;		/* NULL: the zone does not exist */
	size_t		 len;
};

struct policy_tzdb {
	pthread_mutex_t	 lock;
	char		*dir;
	struct zone	*zones;
	struct policy_tz tz;
};

static int
valid_name(const char *name)
{
	size_t i, n = strlen(name);

	if (n == 0 || n >= TZ_NAME_MAX || name[0] == '/' || name[0] == '.')
		return 0;
	for (i = 0; i < n; i++) {
		char c = name[i];

		if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
		    (c >= '0' && c <= '9') || c == '_' || c == '-' ||
		    c == '+' || c == '/'))
			return 0;
		if (c == '/' && (name[i + 1] == '.' || name[i + 1] == '/'))
			return 0;
	}
	return 1;
}

static unsigned char *
read_file(const char *path, size_t *lenp)
{
	unsigned char *buf;
	size_t len = 0;
	ssize_t r;
	int fd;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd == -1)
		return NULL;
	buf = malloc(TZ_FILE_MAX);
	if (buf == NULL) {
		close(fd);
		return NULL;
	}
	while (len < TZ_FILE_MAX) {
		r = read(fd, buf + len, TZ_FILE_MAX - len);
		if (r == -1 && errno == EINTR)
			continue;
		if (r <= 0)
			break;
		len += (size_t)r;
	}
	close(fd);
	*lenp = len;
	return buf;
}

static int
tzdb_offset(void *arg, const char *name, int64_t utc_sec, int32_t *offset)
{
	struct policy_tzdb *db = arg;
	struct zone *z;
	int r = -1;

	if (!valid_name(name))
		return -1;
	pthread_mutex_lock(&db->lock);
	for (z = db->zones; z != NULL; z = z->next)
		if (strcmp(z->name, name) == 0)
			break;
	if (z == NULL) {
		char path[4096];
		size_t n = strlen(db->dir) + 1 + strlen(name) + 1;

		z = calloc(1, sizeof(*z));
		if (z == NULL)
			goto done;
		memcpy(z->name, name, strlen(name) + 1);
		if (n <= sizeof(path)) {
			memcpy(path, db->dir, strlen(db->dir));
			path[strlen(db->dir)] = '/';
			memcpy(path + strlen(db->dir) + 1, name,
			    strlen(name) + 1);
			z->data = read_file(path, &z->len);
		}
		z->next = db->zones;
		db->zones = z;
	}
	if (z->data != NULL)
		r = policy_tzif_offset(z->data, z->len, utc_sec, offset);
done:
	pthread_mutex_unlock(&db->lock);
	return r;
}

struct policy_tzdb *
policy_tzdb_new(const char *dir)
{
	struct policy_tzdb *db;

	if (dir == NULL)
		dir = getenv("TZDIR");
	if (dir == NULL || *dir == '\0')
		dir = "/usr/share/zoneinfo";
	db = calloc(1, sizeof(*db));
	if (db == NULL)
		return NULL;
	db->dir = strdup(dir);
	if (db->dir == NULL || pthread_mutex_init(&db->lock, NULL) != 0) {
		free(db->dir);
		free(db);
		return NULL;
	}
	db->tz.offset = tzdb_offset;
	db->tz.arg = db;
	return db;
}

void
policy_tzdb_free(struct policy_tzdb *db)
{
	struct zone *z, *next;

	if (db == NULL)
		return;
	for (z = db->zones; z != NULL; z = next) {
		next = z->next;
		free(z->data);
		free(z);
	}
	pthread_mutex_destroy(&db->lock);
	free(db->dir);
	free(db);
}

const struct policy_tz *
policy_tzdb_tz(struct policy_tzdb *db)
{
	return &db->tz;
}
