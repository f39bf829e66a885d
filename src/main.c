/* SPDX-License-Identifier: MIT */
/* Arguments and mode selection only; everything else lives in the library. */
#include <getopt.h>
#include <signal.h>
#include <curl/curl.h>
#include <systemd/sd-daemon.h>

#include "aws.h"
#include "config.h"
#include "credentials.h"
#include "duration.h"
#include "log.h"
#include "manager.h"

static void help(void) {
        printf("Usage: %s [OPTIONS]\n"
               "\n"
               "Keep Amazon ECR registry password files fresh for Spinnaker and docker clients.\n"
               "\n"
               "Options:\n"
               "  -c, --config PATH  configuration file (default: %s)\n"
               "      --oneshot      refresh every registry once, then exit\n"
               "      --check        validate the configuration and exit\n"
               "  -v, --verbose      log debug messages; with --check, show endpoints and credentials source\n"
               "  -V, --version      print the version and exit\n"
               "  -h, --help         print this help and exit\n"
               "\n"
               "Exit status:\n"
               "  0   success (every registry refreshed, or the configuration is valid)\n"
               "  1   at least one registry could not be refreshed (the others were written)\n"
               "  64  usage error\n"
               "  78  configuration error (invalid or unreadable configuration file)\n"
               "\n"
               "Signals (daemon mode): SIGTERM/SIGINT stop, SIGHUP reloads the configuration.\n"
               "See ecr-token-refresh(8) and ecr-token-refresh.yaml(5).\n",
               program_invocation_short_name, DEFAULT_CONFIG_PATH);
}

static int check_config(const Config *c, const char *path, bool verbose) {
        char buf[64];

        printf("%s: valid, %zu %s, interval %s\n", path, c->n_registries, c->n_registries == 1 ? "registry" : "registries",
               duration_format(c->interval, buf, sizeof(buf)));
        if (!verbose)
                return EXIT_OK;

        _cleanup_(sd_event_unrefp) sd_event *e = NULL;
        HttpClient *http = NULL;
        CredentialsProvider *p = NULL;
        _cleanup_free_ char *who = NULL;

        if (sd_event_default(&e) >= 0 && http_client_new(e, NULL, &http) >= 0 && credentials_provider_new(http, &p) >= 0)
                who = credentials_provider_describe(p);
        for (size_t i = 0; i < c->n_registries; i++) {
                const Registry *r = &c->registries[i];
                _cleanup_free_ char *url = NULL, *error = NULL, *role_who = NULL;
                url = aws_ecr_endpoint(r->region, r->endpoint, &error);
                if (p && r->role_arn)
                        role_who = credentials_provider_describe_registry(p, r);
                printf("  %s/%s -> %s%s%s (mode %04o)\n    endpoint: %s\n    credentials: %s\n", r->registry_id, r->region,
                       r->password_file ?: "", r->password_file && r->docker_config_file ? ", " : "",
                       r->docker_config_file ?: "", (unsigned) r->file_mode, url ?: error ?: "?", role_who ?: who ?: "?");
        }
        credentials_provider_free(p);
        http_client_free(http);
        return EXIT_OK;
}

int main(int argc, char *argv[]) {
        enum { ARG_ONESHOT = 0x100, ARG_CHECK };
        static const struct option options[] = {
                { "config", required_argument, NULL, 'c' },
                { "oneshot", no_argument, NULL, ARG_ONESHOT },
                { "check", no_argument, NULL, ARG_CHECK },
                { "verbose", no_argument, NULL, 'v' },
                { "version", no_argument, NULL, 'V' },
                { "help", no_argument, NULL, 'h' },
                {},
        };
        _cleanup_(config_freep) Config *config = NULL;
        _cleanup_(manager_freep) Manager *m = NULL;
        _cleanup_free_ char *error = NULL;
        const char *config_path = DEFAULT_CONFIG_PATH;
        bool oneshot = false, check = false, verbose = false;
        sigset_t mask;
        int c, r;

        log_setup();

        /* getopt_long_only also accepts the Go tool's single-dash "-config PATH". */
        while ((c = getopt_long_only(argc, argv, "c:vVh", options, NULL)) >= 0)
                switch (c) {
                case 'c':
                        config_path = optarg;
                        break;
                case ARG_ONESHOT:
                        oneshot = true;
                        break;
                case ARG_CHECK:
                        check = true;
                        break;
                case 'v':
                        verbose = true;
                        break;
                case 'V':
                        printf("%s %s\n", PACKAGE_NAME, PACKAGE_VERSION);
                        return EXIT_OK;
                case 'h':
                        help();
                        return EXIT_OK;
                default:
                        fprintf(stderr, "Try '%s --help' for more information.\n", program_invocation_short_name);
                        return EXIT_USAGE;
                }
        if (optind < argc) {
                fprintf(stderr, "%s: unexpected argument '%s'\nTry '%s --help' for more information.\n",
                        program_invocation_short_name, argv[optind], program_invocation_short_name);
                return EXIT_USAGE;
        }
        if (check && oneshot) {
                fprintf(stderr, "%s: --check and --oneshot exclude each other\n", program_invocation_short_name);
                return EXIT_USAGE;
        }
        if (verbose)
                log_set_max_level(LOG_DEBUG);

        r = config_load(config_path, &config, &error);
        if (r < 0) {
                log_error("Configuration error: %s", error ?: strerror(-r));
                (void) sd_notifyf(false, "STATUS=Configuration error: %s\nERRNO=%d", error ?: strerror(-r), -r);
                return EXIT_CONFIG;
        }
        if (check)
                return check_config(config, config_path, verbose);

        /* Signals are handled by the event loop (signalfd), so they must be blocked. */
        sigemptyset(&mask);
        sigaddset(&mask, SIGTERM);
        sigaddset(&mask, SIGINT);
        sigaddset(&mask, SIGHUP);
        sigaddset(&mask, SIGCHLD); /* onRefresh and credential_process children, reaped by the loop */
        sigprocmask(SIG_BLOCK, &mask, NULL);
        signal(SIGPIPE, SIG_IGN);

        if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
                log_error("Failed to initialize libcurl.");
                return EXIT_REFRESH_FAILED;
        }

        r = manager_new(TAKE_PTR(config), config_path, oneshot, &m);
        if (r < 0) {
                log_error_errno(r, "Failed to set up: %m");
                (void) sd_notifyf(false, "STATUS=Failed to start: %s\nERRNO=%d", strerror(-r), -r);
                curl_global_cleanup();
                return EXIT_REFRESH_FAILED;
        }
        r = manager_run(m);
        m = manager_free(m);
        curl_global_cleanup();
        return r;
}
