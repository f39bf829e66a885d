/* SPDX-License-Identifier: MIT */
/* Fallbacks for older libsystemd (RHEL 8 ships 239). */
#pragma once

#include <systemd/sd-event.h>

#if !HAVE_SD_EVENT_SOURCE_DISABLE_UNREF
static inline sd_event_source *sd_event_source_disable_unref(sd_event_source *s) {
        if (s)
                (void) sd_event_source_set_enabled(s, SD_EVENT_OFF);
        return sd_event_source_unref(s);
}
#endif
