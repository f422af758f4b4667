/*
 * main: the warden daemon's entry point. Parses the command line, loads and validates the
 * configuration (all errors reported as file:line:column), binds every listener (one
 * SO_REUSEPORT socket per worker), starts the workers and the admin plane, writes the ready
 * file, then waits for signals on the main thread: SIGTERM/SIGINT drain and exit, SIGHUP
 * reloads the policy and the authentication material, SIGUSR1 reopens the audit files. It
 * owns the audit pipeline's life cycle: started before the workers, told about start-up and
 * shutdown (audit events), stopped (flushed) after the workers. Nothing else lives here.
 */
#include <errno.h>
#include <getopt.h>
#include <netdb.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include <event2/thread.h>

#include "admin/admin.h"
#include "admin/metrics.h"
#include "admin/reload.h"
#include <openssl/crypto.h>

#include "audit/pipeline.h"
#include "auth/assertion.h"
#include "auth/files.h"
#include "auth/authn.h"
#include "config.h"
#include "policy/store.h"
#include "runtime.h"
#include "net/listener.h"
#include "net/tls.h"
#include "net/worker.h"
#include "util/log.h"

#define WARDEN_VERSION "0.1.0"

static void usage(FILE *f)
{
    fprintf(f, "usage: warden -c CONFIG      run the gateway\n"
               "       warden --check CONFIG validate a configuration and exit\n"
               "       warden --version\n");
}

static int print_diag(struct conf_diag *d)
{
    for (size_t i = 0; i < d->n && i < d->cap; i++)
        fprintf(stderr, "%s\n", d->msgs[i]);
    if (d->n > d->cap)
        fprintf(stderr, "(%zu more errors; out of memory while recording them)\n", d->n - d->cap);
    return d->n ? 1 : 0;
}

static int resolve_upstream(const struct upstream_conf *u, struct worker_shared *sh)
{
    char port[8];
    snprintf(port, sizeof(port), "%d", u->conn_port);
    struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM};
    struct addrinfo *ai;
    int rc = getaddrinfo(u->conn_host, port, &hints, &ai);
    if (rc != 0) {
        log_error("cannot resolve upstream %s: %s", u->conn_host, gai_strerror(rc));
        return -1;
    }
    memcpy(&sh->upstream_addr, ai->ai_addr, ai->ai_addrlen);
    sh->upstream_addrlen = ai->ai_addrlen;
    freeaddrinfo(ai);
    return 0;
}

/* Every client and upstream connection is a descriptor: take what the hard limit allows. */
static void raise_fd_limit(void)
{
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
        rl.rlim_cur = rl.rlim_max;
        if (setrlimit(RLIMIT_NOFILE, &rl) != 0)
            log_warn("cannot raise the open-file limit: %s", strerror(errno));
    }
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0)
        log_info("open-file limit %llu", (unsigned long long)rl.rlim_cur);
}

static int write_ready_file(const char *path, const struct warden_config *cfg, const int *ports,
                            int admin_port)
{
    char tmp[4096];
    snprintf(tmp, sizeof(tmp), "%s.tmp", path);
    FILE *f = fopen(tmp, "w");
    if (!f)
        return -1;
    fprintf(f, "{\"pid\": %d, \"listeners\": [", (int)getpid());
    for (size_t i = 0; i < cfg->nlisteners; i++) {
        char host[256];
        int port;
        conf_split_address(cfg->listeners[i].address, host, sizeof(host), &port);
        bool v6 = strchr(host, ':') != NULL;
        fprintf(f, "%s\"%s%s%s:%d\"", i ? ", " : "", v6 ? "[" : "", host, v6 ? "]" : "", ports[i]);
    }
    fprintf(f, "], \"admin\": \"127.0.0.1:%d\"}\n", admin_port);
    if (fclose(f) != 0)
        return -1;
    return rename(tmp, path);
}

int main(int argc, char **argv)
{
    const char *config_path = NULL;
    bool check_only = false;
    static const struct option opts[] = {{"config", required_argument, NULL, 'c'},
                                         {"check", required_argument, NULL, 'C'},
                                         {"version", no_argument, NULL, 'V'},
                                         {"help", no_argument, NULL, 'h'},
                                         {NULL, 0, NULL, 0}};
    int opt;
    while ((opt = getopt_long(argc, argv, "c:h", opts, NULL)) != -1) {
        switch (opt) {
        case 'c':
            config_path = optarg;
            break;
        case 'C':
            config_path = optarg;
            check_only = true;
            break;
        case 'V':
            printf("warden %s\n", WARDEN_VERSION);
            return 0;
        case 'h':
            usage(stdout);
            return 0;
        default:
            usage(stderr);
            return 2;
        }
    }
    if (!config_path || optind != argc) {
        usage(stderr);
        return 2;
    }

    struct conf_diag diag = {0};
    struct warden_config *cfg = config_load(config_path, &diag);
    if (!cfg) {
        print_diag(&diag);
        fprintf(stderr, "%s: configuration refused (%zu error%s)\n", config_path, diag.n,
                diag.n == 1 ? "" : "s");
        conf_diag_clear(&diag);
        return 1;
    }
    /* --check prints its findings plainly; the daemon's own log would only repeat them. */
    log_setup(check_only ? LOG_OFF : (enum log_level)cfg->server.log_level,
              (enum log_format)cfg->server.log_format);
    char err[512];
    /* Key files, PAT and revocation files and the policy are loaded now, so that --check and
     * start-up refuse what the running daemon would refuse. */
    struct authn *authn = NULL;
    struct policy_store *policy = NULL;
    if (runtime_load(cfg, stderr, &authn, &policy) != 0) {
        config_free(cfg);
        return 1;
    }
    if (check_only) {
        printf("%s: configuration ok\n", config_path);
        policy_store_free(policy);
        authn_free(authn);
        config_free(cfg);
        return 0;
    }

    int rc = 1;
    int nworkers = (int)cfg->server.workers;
    if (nworkers <= 0)
        nworkers = (int)sysconf(_SC_NPROCESSORS_ONLN);
    if (nworkers <= 0)
        nworkers = 1;
    struct worker **workers = calloc((size_t)nworkers, sizeof(*workers));
    int *ports = calloc(cfg->nlisteners, sizeof(int));
    int *fds = calloc(cfg->nlisteners * (size_t)nworkers, sizeof(int));
    SSL_CTX **tls = calloc(cfg->nlisteners, sizeof(*tls));
    struct admin *admin = NULL;
    struct audit_pipeline *audit = NULL;
    struct assertion_signer *signer = NULL;
    char *service_cred = NULL;
    bool started = false;
    err[0] = '\0';
    struct worker_shared shared = {.cfg = cfg, .tls = tls, .authn = authn, .policy = policy};
    struct reload_ctx reload = {.policy = policy, .authn = authn};
    if (!workers || !ports || !fds || !tls)
        goto out;
    for (size_t i = 0; i < cfg->nlisteners * (size_t)nworkers; i++)
        fds[i] = -1;

    signal(SIGPIPE, SIG_IGN);
    raise_fd_limit();
    sigset_t sigs;
    sigemptyset(&sigs);
    sigaddset(&sigs, SIGTERM);
    sigaddset(&sigs, SIGINT);
    sigaddset(&sigs, SIGHUP);
    sigaddset(&sigs, SIGUSR1);
    pthread_sigmask(SIG_BLOCK, &sigs, NULL); /* inherited by every thread started below */
    if (evthread_use_pthreads() != 0) {
        log_error("libevent threading support unavailable");
        goto out;
    }
    /* Auditing first: everything after this point is recorded, start-up failures included. */
    if (audit_conf_enabled(&cfg->audit)) {
        cfg->audit.product_version = WARDEN_VERSION;
        audit = audit_pipeline_new(&cfg->audit, err, sizeof(err));
        if (!audit || audit_pipeline_start(audit, err, sizeof(err)) != 0) {
            log_error("audit: %s", err);
            goto out;
        }
        metrics_set_audit(audit);
    } else {
        log_warn("no [audit] section: requests are not audited");
    }
    shared.audit = audit;
    reload.audit = audit;
    if (resolve_upstream(&cfg->upstream, &shared) < 0) {
        snprintf(err, sizeof(err), "cannot resolve the upstream %s", cfg->upstream.conn_host);
        goto out;
    }
    if (authn_start(authn, err, sizeof(err)) != 0) {
        log_error("authentication: %s", err);
        goto out;
    }
    if (cfg->upstream.identity == UPSTREAM_IDENTITY_ASSERT) {
        const struct assertion_params ap = {
            cfg->upstream.assertion_key_file, cfg->upstream.assertion_issuer,
            cfg->upstream.assertion_audience, cfg->upstream.assertion_lifetime_ms};
        if (!(signer = assertion_signer_new(&ap, err, sizeof(err)))) {
            log_error("[upstream] assertion: %s", err);
            goto out;
        }
        shared.signer = signer;
    }
    if (cfg->upstream.service_credential_file) {
        size_t n;
        if (auth_header_value_load(cfg->upstream.service_credential_file, &service_cred, &n, err,
                                   sizeof(err)) != 0) {
            log_error("[upstream] %s", err);
            goto out;
        }
        shared.service_credential = service_cred;
    }
    for (size_t i = 0; i < cfg->nlisteners; i++) {
        const struct listener_conf *l = &cfg->listeners[i];
        if (l->tls_cert) {
            tls[i] = tls_server_ctx_new(l->tls_cert, l->tls_key, l->tls_client_ca,
                                        l->tls_client_cert == 1, err, sizeof(err));
            if (!tls[i]) {
                log_error("listener %s: %s", l->address, err);
                goto out;
            }
        }
        for (int k = 0; k < nworkers; k++) {
            int fd = listener_bind(l->address, &ports[i], err, sizeof(err));
            if (fd < 0) {
                log_error("listener %s: %s", l->address, err);
                goto out;
            }
            fds[(size_t)k * cfg->nlisteners + i] = fd;
        }
    }
    admin = admin_new(cfg->admin.address, (const struct sockaddr *)&shared.upstream_addr,
                      shared.upstream_addrlen, &reload, cfg->policy.watch_interval_ms, err,
                      sizeof(err));
    if (!admin) {
        log_error("%s", err);
        goto out;
    }
    if (signer) {
        size_t jl;
        const char *jwks = assertion_signer_jwks(signer, &jl);
        if (admin_set_jwks(admin, jwks, jl) != 0) {
            snprintf(err, sizeof(err), "out of memory");
            goto out;
        }
    }
    for (int k = 0; k < nworkers; k++) {
        workers[k] = worker_new(&shared, k, &fds[(size_t)k * cfg->nlisteners], err, sizeof(err));
        if (!workers[k]) {
            log_error("worker %d: %s", k, err);
            goto out;
        }
        for (size_t i = 0; i < cfg->nlisteners; i++)
            fds[(size_t)k * cfg->nlisteners + i] = -1; /* owned by the worker now */
    }
    for (int k = 0; k < nworkers; k++) {
        if (worker_start(workers[k]) != 0) {
            log_error("cannot start worker thread %d", k);
            goto out;
        }
    }
    if (admin_start(admin) != 0) {
        snprintf(err, sizeof(err), "cannot start the admin thread");
        log_error("%s", err);
        goto out;
    }
    for (size_t i = 0; i < cfg->nlisteners; i++)
        log_info("listening on %s (port %d%s), %d worker(s), upstream %s",
                 cfg->listeners[i].address, ports[i], tls[i] ? ", TLS" : "", nworkers,
                 cfg->upstream.url);
    log_info("admin plane on port %d", admin_port(admin));
    if (cfg->server.ready_file &&
        write_ready_file(cfg->server.ready_file, cfg, ports, admin_port(admin)) != 0) {
        log_error("cannot write ready file %s: %s", cfg->server.ready_file, strerror(errno));
        snprintf(err, sizeof(err), "cannot write the ready file");
        goto stop;
    }
    started = true;
    if (audit) {
        char detail[512];
        snprintf(detail, sizeof(detail),
                 "warden %s started (pid %d): %zu listener(s), %d worker(s), upstream %s",
                 WARDEN_VERSION, (int)getpid(), cfg->nlisteners, nworkers, cfg->upstream.url);
        audit_event(audit, "startup", true, detail);
    }

    for (;;) {
        int sig = 0;
        if (sigwait(&sigs, &sig) != 0)
            continue;
        if (sig == SIGHUP) {
            reload_all(&reload, "SIGHUP", NULL, 0);
            continue;
        }
        if (sig == SIGUSR1) {
            log_info("SIGUSR1: reopening the audit files");
            audit_pipeline_reopen(audit);
            continue;
        }
        log_info("signal %d received: draining (deadline %lld ms)", sig,
                 (long long)cfg->server.shutdown_timeout_ms);
        snprintf(err, sizeof(err), "signal %d", sig);
        break;
    }
    rc = 0;
stop:
    for (int k = 0; k < nworkers; k++)
        if (workers[k])
            worker_request_stop(workers[k], cfg->server.shutdown_timeout_ms);
    for (int k = 0; k < nworkers; k++)
        if (workers[k])
            worker_join(workers[k]);
    log_info("stopped");
out:
    if (audit) {
        char detail[600];
        if (started)
            snprintf(detail, sizeof(detail), "warden stopped (%s); in-flight requests drained",
                     err[0] ? err : "shutdown");
        else
            snprintf(detail, sizeof(detail), "warden failed to start: %s",
                     err[0] ? err : "see the daemon log");
        audit_event(audit, started ? "shutdown" : "startup", started && rc == 0, detail);
    }
    admin_free(admin);
    for (int k = 0; workers && k < nworkers; k++)
        worker_free(workers[k]);
    /* After the workers (they submit records): flush and stop. */
    metrics_set_audit(NULL);
    audit_pipeline_stop(audit, cfg->server.shutdown_timeout_ms);
    audit_pipeline_free(audit);
    for (size_t i = 0; fds && i < cfg->nlisteners * (size_t)nworkers; i++)
        if (fds[i] >= 0)
            close(fds[i]);
    for (size_t i = 0; tls && i < cfg->nlisteners; i++)
        tls_server_ctx_free(tls[i]);
    free(tls);
    free(fds);
    free(ports);
    free(workers);
    assertion_signer_free(signer);
    if (service_cred)
        OPENSSL_cleanse(service_cred, strlen(service_cred));
    free(service_cred);
    authn_free(authn);
    policy_store_free(policy);
    config_free(cfg);
    return rc;
}
