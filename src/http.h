/* SPDX-License-Identifier: MIT */
/* Non-blocking HTTP(S) on the sd-event loop: curl's multi interface with its sockets and timer
 * driven by event sources, so no request can ever block signals, timers or watchdog pings. */
#pragma once

#include <time.h>
#include <curl/curl.h>
#include <systemd/sd-event.h>

#include "macro.h"
#include "sd-compat.h"

typedef struct HttpClient HttpClient;
typedef struct HttpRequest HttpRequest;

/* Called once when a started request finishes, fails or times out (never when it is freed
 * before that). The callback may free the request (and others). */
typedef void (*HttpDoneFn)(HttpRequest *req, void *userdata);

/* Creates a client attached to event loop e. The CA bundle, when ca_file is not NULL, replaces
 * the system trust store (AWS_CA_BUNDLE); otherwise, with GnuTLS, the system store is read from
 * its one bundle file rather than its directory. With GnuTLS that bundle is read once for the
 * client's life and each HTTPS server is verified against it (tls-trust.h) before a request is
 * sent; a refusal fails the request with CURLE_PEER_FAILED_VERIFICATION, as curl's own check does,
 * which is what happens with other TLS libraries or without a bundle file. Connections are reused
 * while requests keep coming and closed once none runs. Returns 0 or negative errno. */
int http_client_new(sd_event *e, const char *ca_file, HttpClient **ret);
/* Aborts every request still running (without callbacks) and frees the client. NULL-safe. */
HttpClient *http_client_free(HttpClient *c);
/* Number of requests in flight. */
unsigned http_client_running(const HttpClient *c);

/* A new, not yet started request. method is "GET", "PUT" or "POST". */
int http_request_new(HttpClient *c, const char *method, const char *url, HttpRequest **ret);
/* Adds "Name: value". Header memory is wiped when the request is freed (it may hold tokens). */
int http_request_add_header(HttpRequest *r, const char *name, const char *value);
/* Copies the request body. */
int http_request_set_body(HttpRequest *r, const void *body, size_t len);
/* Connect and total timeouts in milliseconds (0 leaves curl's default / none). */
void http_request_set_timeouts(HttpRequest *r, unsigned connect_ms, unsigned total_ms);
/* Largest response body accepted; a bigger one fails the request. Default 1 MiB. */
void http_request_set_max_body(HttpRequest *r, size_t max);
/* Never use a proxy for this request (instance metadata is link-local). */
void http_request_set_no_proxy(HttpRequest *r);
/* Starts the request; done runs from the event loop. Returns 0 or negative errno. */
int http_request_start(HttpRequest *r, HttpDoneFn done, void *userdata);
/* Aborts the request if running and frees it, wiping headers and body. NULL-safe. */
HttpRequest *http_request_free(HttpRequest *r);
void http_request_freep(HttpRequest **r);

/* Results, valid after the done callback ran. */
/* CURLE_OK when an HTTP response arrived (any status). */
CURLcode http_request_result(const HttpRequest *r);
/* A one-line description of a transport failure (curl's error buffer or strerror), or NULL. */
const char *http_request_error(const HttpRequest *r);
long http_request_status(const HttpRequest *r);
/* The response body, NUL-terminated; *len excludes the NUL. Owned by the request. */
const char *http_request_body(const HttpRequest *r, size_t *len);
/* Value of a response header (case-insensitive name, first occurrence), or NULL. */
const char *http_request_header(const HttpRequest *r, const char *name);
/* The response's Date header as time_t, or (time_t) -1 if absent or unparsable. */
time_t http_request_date(const HttpRequest *r);
/* The URL this request went to. */
const char *http_request_url(const HttpRequest *r);
