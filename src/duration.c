/* SPDX-License-Identifier: MIT */
#include <inttypes.h>

#include "duration.h"

/* Go keeps durations as int64 nanoseconds; anything above this is out of range there and here. */
#define DURATION_NSEC_MAX ((uint64_t) INT64_MAX)

/* Each unit is factor * 10^exp10 nanoseconds, so fractions can be scaled exactly in integers. */
static const struct {
        const char *name;
        uint64_t nsec;
        uint64_t factor;
        unsigned exp10;
} duration_units[] = {
        { "ns",          1ULL,              1,  0 },
        { "us",          1000ULL,           1,  3 },
        { "\xc2\xb5s",   1000ULL,           1,  3 }, /* U+00B5 MICRO SIGN */
        { "\xce\xbcs",   1000ULL,           1,  3 }, /* U+03BC GREEK SMALL LETTER MU */
        { "ms",          1000000ULL,        1,  6 },
        { "s",           1000000000ULL,     1,  9 },
        { "m",           60000000000ULL,    6,  10 },
        { "h",           3600000000000ULL,  36, 11 },
};

/* Fraction digits beyond this are ignored (as Go does once its accumulator is full); 17 keeps
 * remainder * factor below 2^64 in fraction_scale(). The lost precision is far below 1 ns. */
#define FRACTION_DIGITS_MAX 17

static uint64_t pow10_u64(unsigned e) {
        uint64_t r = 1;
        while (e-- > 0)
                r *= 10;
        return r;
}

/* floor(frac / 10^digits * unit) where frac < 10^digits; never exceeds the unit. */
static uint64_t fraction_scale(uint64_t frac, unsigned digits, uint64_t factor, unsigned exp10) {
        uint64_t d;

        if (digits <= exp10)
                return frac * factor * pow10_u64(exp10 - digits);

        d = pow10_u64(digits - exp10);
        return (frac / d) * factor + (frac % d) * factor / d;
}

static bool is_digit(char c) {
        return c >= '0' && c <= '9';
}

int duration_parse(const char *s, usec_t *ret) {
        uint64_t total = 0;

        if (!s || !*s)
                return -EINVAL;
        /* Go allows a sign; a negative or signed interval makes no sense for us. */
        if (*s == '-' || *s == '+')
                return -EINVAL;
        if (streq(s, "0")) {
                if (ret)
                        *ret = 0;
                return 0;
        }

        while (*s) {
                uint64_t v = 0, frac = 0, unit_nsec = 0, add;
                unsigned frac_digits = 0;
                bool pre = false, post = false, found = false;
                const char *u;
                size_t ulen;

                if (!is_digit(*s) && *s != '.')
                        return -EINVAL;

                for (; is_digit(*s); s++) {
                        pre = true;
                        if (v > (DURATION_NSEC_MAX - (uint64_t) (*s - '0')) / 10)
                                return -ERANGE;
                        v = v * 10 + (uint64_t) (*s - '0');
                }

                if (*s == '.') {
                        s++;
                        for (; is_digit(*s); s++) {
                                post = true;
                                if (frac_digits >= FRACTION_DIGITS_MAX)
                                        continue;
                                frac = frac * 10 + (uint64_t) (*s - '0');
                                frac_digits++;
                        }
                }
                if (!pre && !post)
                        return -EINVAL;

                /* Like Go, the unit is everything up to the next digit or '.'. */
                u = s;
                while (*s && !is_digit(*s) && *s != '.')
                        s++;
                ulen = (size_t) (s - u);
                if (ulen == 0)
                        return -EINVAL; /* missing unit */

                for (size_t i = 0; i < ELEMENTSOF(duration_units); i++)
                        if (strlen(duration_units[i].name) == ulen &&
                            memcmp(duration_units[i].name, u, ulen) == 0) {
                                unit_nsec = duration_units[i].nsec;
                                if (v > DURATION_NSEC_MAX / unit_nsec)
                                        return -ERANGE;
                                add = v * unit_nsec;
                                if (frac_digits > 0) {
                                        uint64_t f = fraction_scale(frac, frac_digits,
                                                                    duration_units[i].factor,
                                                                    duration_units[i].exp10);
                                        if (add > DURATION_NSEC_MAX - f)
                                                return -ERANGE;
                                        add += f;
                                }
                                found = true;
                                break;
                        }
                if (!found)
                        return -EINVAL;

                if (total > DURATION_NSEC_MAX - add)
                        return -ERANGE;
                total += add;
        }

        if (ret)
                *ret = (usec_t) (total / 1000);
        return 0;
}

char *duration_format(usec_t u, char *buf, size_t n) {
        int k;

        if (!buf || n == 0)
                return NULL;

        if (u == USEC_INFINITY)
                k = snprintf(buf, n, "infinity");
        else if (u == 0)
                k = snprintf(buf, n, "0s");
        else if (u < USEC_PER_MSEC)
                k = snprintf(buf, n, "%" PRIu64 "us", (uint64_t) u);
        else if (u < USEC_PER_SEC)
                k = snprintf(buf, n, "%" PRIu64 "ms", (uint64_t) (u / USEC_PER_MSEC));
        else {
                uint64_t h = u / USEC_PER_HOUR,
                         m = (u % USEC_PER_HOUR) / USEC_PER_MINUTE,
                         s = (u % USEC_PER_MINUTE) / USEC_PER_SEC;
                size_t l = 0;

                buf[0] = 0;
                k = 0;
                if (h > 0) {
                        k = snprintf(buf, n, "%" PRIu64 "h", h);
                        if (k < 0 || (size_t) k >= n)
                                return NULL;
                        l = (size_t) k;
                }
                if (m > 0) {
                        k = snprintf(buf + l, n - l, "%" PRIu64 "m", m);
                        if (k < 0 || (size_t) k >= n - l)
                                return NULL;
                        l += (size_t) k;
                }
                if (s > 0) {
                        k = snprintf(buf + l, n - l, "%" PRIu64 "s", s);
                        if (k < 0 || (size_t) k >= n - l)
                                return NULL;
                }
                return buf;
        }

        if (k < 0 || (size_t) k >= n)
                return NULL;
        return buf;
}
