/* SPDX-License-Identifier: MIT */
/* Unit tests for duration_parse() (Go time.ParseDuration syntax) and duration_format(). */
#include "duration.h"
#include "tap.h"

static void test_valid(const char *s, usec_t want) {
        usec_t got = 12345;
        int r = duration_parse(s, &got);

        if (!ok(r == 0 && got == want, "parse \"%s\" = %llu us", s, (unsigned long long) want))
                diag("r=%d got=%llu", r, (unsigned long long) got);
}

static void test_invalid(const char *s, int want_r) {
        usec_t got = 12345;
        int r = duration_parse(s, &got);

        if (!ok(r == want_r && got == 12345, "parse \"%s\" fails with %s", s,
                want_r == -ERANGE ? "-ERANGE" : "-EINVAL"))
                diag("r=%d got=%llu", r, (unsigned long long) got);
}

static void test_format(usec_t u, const char *want) {
        char buf[DURATION_FORMAT_MAX];

        is_str(duration_format(u, buf, sizeof(buf)), want, want);
}

int main(void) {
        char small[4];

        /* The examples from the config documentation. */
        test_valid("30m", 30 * USEC_PER_MINUTE);
        test_valid("1h30m", 90 * USEC_PER_MINUTE);
        test_valid("1.5h", 90 * USEC_PER_MINUTE);
        test_valid("90s", 90 * USEC_PER_SEC);
        test_valid("300ms", 300 * USEC_PER_MSEC);
        test_valid("0", 0);
        test_valid("11h", 11 * USEC_PER_HOUR);

        /* Every unit, including both spellings of micro. */
        test_valid("1ns", 0);
        test_valid("1000ns", 1);
        test_valid("1500ns", 1);
        test_valid("7us", 7);
        test_valid("7\xc2\xb5s", 7); /* U+00B5 MICRO SIGN */
        test_valid("7\xce\xbcs", 7); /* U+03BC GREEK SMALL LETTER MU */
        test_valid("2ms", 2000);
        test_valid("2s", 2 * USEC_PER_SEC);
        test_valid("2m", 2 * USEC_PER_MINUTE);
        test_valid("2h", 2 * USEC_PER_HOUR);

        /* Zero forms, fractions and sequences as Go accepts them. */
        test_valid("0s", 0);
        test_valid("0h0m0s", 0);
        test_valid("000m", 0);
        test_valid(".5s", 500 * USEC_PER_MSEC);
        test_valid("1.s", USEC_PER_SEC);
        test_valid("0.5m", 30 * USEC_PER_SEC);
        test_valid("1.25h", 75 * USEC_PER_MINUTE);
        test_valid("0.001s", 1000);
        test_valid("0.0000001s", 0); /* 100 ns, truncated */
        test_valid("1.0000005ms", 1000);
        test_valid("2h45m30.5s", 2 * USEC_PER_HOUR + 45 * USEC_PER_MINUTE + 30 * USEC_PER_SEC + 500 * USEC_PER_MSEC);
        test_valid("1h1h", 2 * USEC_PER_HOUR); /* Go sums repeated units */
        test_valid("1s1h", USEC_PER_HOUR + USEC_PER_SEC); /* and does not require an order */
        test_valid("500ns500ns", 1); /* summed in nanoseconds before truncation */
        test_valid("1.00000000000000000000000001s", USEC_PER_SEC); /* long fractions are fine */
        test_valid("0.333333333333333333333h", 1199999999);
        test_valid("9223372036854775807ns", 9223372036854775ULL); /* Go's maximum */
        test_valid("2562047h47m16.854775807s", 9223372036854775ULL);
        test_valid("2562047h", 2562047ULL * USEC_PER_HOUR);

        /* Syntax errors. */
        test_invalid("", -EINVAL);
        test_invalid("5", -EINVAL);          /* unit required */
        test_invalid("00", -EINVAL);         /* only a lone "0" may omit the unit */
        test_invalid("0.0", -EINVAL);
        test_invalid("-1m", -EINVAL);        /* no negative durations */
        test_invalid("-0", -EINVAL);
        test_invalid("+1m", -EINVAL);        /* nor a sign at all */
        test_invalid("1x", -EINVAL);
        test_invalid("1 m", -EINVAL);
        test_invalid(" 1m", -EINVAL);
        test_invalid("1m ", -EINVAL);
        test_invalid("1M", -EINVAL);
        test_invalid("1H", -EINVAL);
        test_invalid("1sec", -EINVAL);
        test_invalid("1min", -EINVAL);
        test_invalid("1d", -EINVAL);
        test_invalid("m", -EINVAL);
        test_invalid(".s", -EINVAL);
        test_invalid(".", -EINVAL);
        test_invalid("1.2.3s", -EINVAL);
        test_invalid("1h30", -EINVAL);       /* trailing number without unit */
        test_invalid("1..5s", -EINVAL);
        test_invalid("1e3s", -EINVAL);
        test_invalid("0x10s", -EINVAL);
        test_invalid("1\xc2s", -EINVAL);     /* half a micro sign */
        test_invalid("1\xb5s", -EINVAL);
        test_invalid("30m\t", -EINVAL);
        ok(duration_parse("30m\n", NULL) == -EINVAL, "parse \"30m\\n\" fails with -EINVAL");

        /* Overflow of Go's int64 nanoseconds. */
        test_invalid("9223372036854775808ns", -ERANGE);
        test_invalid("2562048h", -ERANGE);
        test_invalid("2562047h47m16.854775808s", -ERANGE);
        test_invalid("99999999999999999999h", -ERANGE);
        test_invalid("18446744073709551616ns", -ERANGE);
        test_invalid("2562047h2562047h", -ERANGE);

        ok(duration_parse("30m", NULL) == 0, "NULL result pointer is allowed");
        ok(duration_parse(NULL, NULL) == -EINVAL, "NULL string is -EINVAL");

        test_format(0, "0s");
        test_format(1, "1us");
        test_format(999, "999us");
        test_format(500 * USEC_PER_MSEC, "500ms");
        test_format(999999, "999ms");
        test_format(USEC_PER_SEC, "1s");
        test_format(45 * USEC_PER_SEC, "45s");
        test_format(45 * USEC_PER_SEC + 999999, "45s");
        test_format(29 * USEC_PER_MINUTE, "29m");
        test_format(90 * USEC_PER_MINUTE, "1h30m");
        test_format(USEC_PER_HOUR + 5 * USEC_PER_SEC, "1h5s");
        test_format(11 * USEC_PER_HOUR, "11h");
        test_format(12 * USEC_PER_HOUR + 34 * USEC_PER_MINUTE + 56 * USEC_PER_SEC, "12h34m56s");
        test_format(USEC_INFINITY - 1, "5124095576h1m49s");
        test_format(USEC_INFINITY, "infinity");
        ok(duration_format(USEC_PER_HOUR, small, sizeof(small)) == small, "\"1h\" fits in 4 bytes");
        ok(duration_format(90 * USEC_PER_MINUTE, small, sizeof(small)) == NULL, "too small buffer gives NULL");
        ok(duration_format(USEC_PER_SEC, small, 0) == NULL, "zero-size buffer gives NULL");

        /* What is formatted parses back to the same (whole-second) value. */
        for (usec_t u = USEC_PER_SEC; u < 30 * USEC_PER_HOUR; u = u * 3 + 7 * USEC_PER_SEC) {
                char buf[DURATION_FORMAT_MAX];
                usec_t back = 0;
                usec_t whole = u / USEC_PER_SEC * USEC_PER_SEC;

                ok(duration_parse(duration_format(u, buf, sizeof(buf)), &back) == 0 && back == whole,
                   "round trip %s", buf);
        }

        return done_testing();
}
