/* SPDX-License-Identifier: MIT */
/* A tiny HTTP/1.1 server on the manager's sd-event loop: GET/HEAD /health and /metrics. Every socket
 * is non-blocking and every connection bounded in size, time and number, so no client can stall
 * the loop. Outputs come from a Report and so never hold a secret. */
#pragma once

#include <sys/socket.h>
#include <systemd/sd-event.h>

#include "macro.h"
#include "report.h"

#define HEALTH_PORT_DEFAULT 3277
#define HEALTH_REQUEST_MAX 4096U      /* request line and headers */
#define HEALTH_CONNECTIONS_MAX 32U    /* more wait in the kernel's backlog */
#define HEALTH_TIMEOUT (5 * USEC_PER_SEC) /* to send the request and read the answer, per connection */

typedef struct HealthServer HealthServer;

/* Parses a listen address: "127.0.0.1:3277", "[::1]:3277", "localhost:3277" (= 127.0.0.1),
 * "0.0.0.0:3277", or ":3277" for every address (IPv6 and IPv4). Port 0..65535 (0 = any free port).
 * Returns 0 and the address, or -EINVAL. */
int health_parse_listen(const char *listen, struct sockaddr_storage *ret, socklen_t *ret_len);

/* The /health answer for r: {"status":"healthy"} when every registry's token is valid
 * (registry_report_token_valid(), see report.h; no registries counts as healthy), else
 * {"status":"unhealthy","failing":[{"registry":"ID/REGION","password_file":"...","error":"..."}]},
 * error being last_error, "no token yet" or "token expired". Newly allocated; NULL on OOM. */
char *health_format(const Report *r, bool *ret_healthy);

/* Listens on listen (see health_parse_listen()) and serves from e:
 *   GET|HEAD /health   200 or 503, JSON as health_format()
 *   GET|HEAD /metrics  200, Prometheus text format 0.0.4 (metrics_format())
 *   GET|HEAD /         200, a one-line text (the old Go tool answered every probe on "/")
 *   other paths 404; other methods on these paths 405; malformed 400; too large 431.
 * One request per connection ("Connection: close"). fn is called per request for a fresh Report.
 * Returns 0 and the server, or negative errno (e.g. -EADDRINUSE) with the reason logged. */
int health_server_new(sd_event *e, const char *listen, ReportFn fn, void *userdata, HealthServer **ret);

/* Closes the listening socket and every connection. NULL-safe; returns NULL. */
HealthServer *health_server_free(HealthServer *s);
void health_server_freep(HealthServer **s);

/* The port actually bound (useful with port 0). */
uint16_t health_server_port(const HealthServer *s);
/* Connections open right now. */
unsigned health_server_connections(const HealthServer *s);
/* Overrides HEALTH_TIMEOUT (for tests). */
void health_server_set_timeout(HealthServer *s, usec_t timeout);
