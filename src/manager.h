/* SPDX-License-Identifier: MIT */
/* The manager owns the event loop and everything on it: signals, the schedule, HTTP, credentials,
 * and per-registry state. Daemon and oneshot mode run the same refresh code. */
#pragma once

#include <systemd/sd-event.h>

#include "config.h"
#include "macro.h"

typedef struct Manager Manager;

/* Exit codes, stable and documented. */
enum {
        EXIT_OK = 0,
        EXIT_REFRESH_FAILED = 1,
        EXIT_USAGE = 64,
        EXIT_CONFIG = 78,
};

/* Takes ownership of config. config_path is re-read on reload. */
int manager_new(Config *config, const char *config_path, bool oneshot, Manager **ret);
Manager *manager_free(Manager *m);
void manager_freep(Manager **m);

/* Runs until SIGTERM/SIGINT (daemon) or until every registry was tried once (oneshot).
 * Returns the process exit code. */
int manager_run(Manager *m);
