/*
 * Policy engine benchmark: decision time for policies of 10, 1,000 and 100,000 grants (it
 * must stay flat: O(depth x principals) look-ups, independent of the number of grants), and
 * compile time and memory for 100,000 grants. Prints one line per measurement.
 * Built and run by tests/bench/policy/run.sh.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

#include "policy/policy.h"

#define NQUERIES 4096
#define ROUNDS   400 /* x NQUERIES decisions per size */
#define BLOCKS   5   /* timed separately; the median is reported */

static uint64_t rng = 88172645463325252ULL;

static uint32_t rnd(uint32_t n)
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return (uint32_t)(rng % n);
}

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static long maxrss_kb(void)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return ru.ru_maxrss;
}

/* Names the generated policy uses, so that every query hits: the same work per decision
 * (user + 4 groups resolved, 3 securables found, 15 grant-entry probes) at every size. */
struct used {
    uint32_t users[NQUERIES], groups[NQUERIES];
    uint32_t cat[NQUERIES], sch[NQUERIES], obj[NQUERIES];
    size_t nu, ng, no;
};

/* A policy of about n grants: catalogs of 10 schemas of 10 experiments each; every catalog
 * reachable by a team group; READ/MODIFY on experiments and schemas to users and groups. */
static char *make_policy(size_t n, size_t *len, struct used *u)
{
    size_t cap = n * 96 + 4096, l = 0;
    size_t ncat = n / 200 + 1, nusers = n / 20 + 1, ngroups = n / 200 + 1;
    char *t = malloc(cap);
    memset(u, 0, sizeof(*u));
    l += (size_t)snprintf(t + l, cap - l, "SET ADMIN GROUP admins;\n");
    size_t g = 1;
    for (size_t c = 0; c < ncat && g < n; c++, g++)
        l += (size_t)snprintf(t + l, cap - l,
                              "GRANT USE CATALOG, USE SCHEMA ON CATALOG cat%zu TO `group:g%zu`;\n",
                              c, c % ngroups);
    while (g < n) {
        uint32_t c = rnd((uint32_t)ncat), sc = rnd(10), o = rnd(10);
        uint32_t who = rnd((uint32_t)nusers), grp = rnd((uint32_t)ngroups);
        switch (rnd(3)) {
        case 0:
            l += (size_t)snprintf(t + l, cap - l,
                                  "GRANT READ ON EXPERIMENT cat%u.s%u.exp%u TO `u%u@x`;\n", c, sc,
                                  o, who);
            if (u->nu < NQUERIES)
                u->users[u->nu++] = who;
            if (u->no < NQUERIES) {
                u->cat[u->no] = c;
                u->sch[u->no] = sc;
                u->obj[u->no++] = o;
            }
            break;
        case 1:
            l += (size_t)snprintf(t + l, cap - l,
                                  "GRANT MODIFY ON EXPERIMENT cat%u.s%u.exp%u TO `group:g%u`;\n", c,
                                  sc, o, grp);
            if (u->ng < NQUERIES)
                u->groups[u->ng++] = grp;
            break;
        default:
            l += (size_t)snprintf(t + l, cap - l,
                                  "GRANT READ ON SCHEMA cat%u.s%u TO `group:g%u`;\n", c, sc, grp);
            break;
        }
        g++;
    }
    if (u->nu == 0 || u->ng == 0 || u->no == 0) { /* tiny policies: name something */
        l += (size_t)snprintf(t + l, cap - l,
                              "GRANT READ ON EXPERIMENT cat0.s0.exp0 TO `u0@x`;\n"
                              "GRANT MODIFY ON EXPERIMENT cat0.s0.exp0 TO `group:g0`;\n");
        u->users[u->nu++] = 0;
        u->groups[u->ng++] = 0;
        u->cat[u->no] = u->sch[u->no] = u->obj[u->no] = 0;
        u->no++;
    }
    *len = l;
    return t;
}

struct query {
    char user[32];
    char gbuf[4][16];
    const char *groups[4];
    struct policy_subject who;
    char c[16], s[16], o[16];
    struct policy_object obj;
    enum policy_priv priv;
};

static void bench(size_t n, int rounds)
{
    size_t len;
    static struct used u;
    char *text = make_policy(n, &len, &u);
    struct policy_text t = {"bench.policy", text, len};
    struct policy_diag d;
    policy_diag_init(&d);
    long rss0 = maxrss_kb();
    double t0 = now();
    struct policy_snapshot *s = policy_compile_buffers(&t, 1, &d);
    double t1 = now();
    long rss1 = maxrss_kb();
    if (!s) {
        fprintf(stderr, "compile failed: %s\n", d.count ? d.v[0].text : "?");
        exit(1);
    }
    static struct query q[NQUERIES];
    for (size_t i = 0; i < NQUERIES; i++) {
        struct query *x = &q[i];
        snprintf(x->user, sizeof(x->user), "u%u@x", u.users[rnd((uint32_t)u.nu)]);
        for (int k = 0; k < 4; k++) {
            snprintf(x->gbuf[k], sizeof(x->gbuf[k]), "g%u", u.groups[rnd((uint32_t)u.ng)]);
            x->groups[k] = x->gbuf[k];
        }
        x->who = (struct policy_subject){x->user, false, x->groups, 4};
        size_t o = rnd((uint32_t)u.no);
        snprintf(x->c, sizeof(x->c), "cat%u", u.cat[o]);
        snprintf(x->s, sizeof(x->s), "s%u", u.sch[o]);
        snprintf(x->o, sizeof(x->o), "exp%u", u.obj[o]);
        x->obj = (struct policy_object){POLICY_KIND_EXPERIMENT,
                                        {x->c, strlen(x->c)},
                                        {x->s, strlen(x->s)},
                                        {x->o, strlen(x->o)},
                                        {NULL, 0}};
        x->priv = rnd(2) ? POLICY_PRIV_READ : POLICY_PRIV_MODIFY;
    }
    struct policy_decision dec;
    size_t allowed = 0;
    for (size_t i = 0; i < NQUERIES; i++) { /* warm up */
        policy_decide(s, &q[i].who, q[i].priv, &q[i].obj, &dec);
        allowed += dec.allowed;
    }
    /* The VM this runs on is noisy: time BLOCKS blocks and report their median (and the
     * fastest block, the figure least disturbed by other processes). */
    double block_ns[BLOCKS];
    int per = rounds / BLOCKS > 0 ? rounds / BLOCKS : 1;
    for (int b = 0; b < BLOCKS; b++) {
        double t2 = now();
        for (int r = 0; r < per; r++)
            for (size_t i = 0; i < NQUERIES; i++)
                policy_decide(s, &q[i].who, q[i].priv, &q[i].obj, &dec);
        block_ns[b] = (now() - t2) * 1e9 / ((double)per * NQUERIES);
    }
    qsort(block_ns, BLOCKS, sizeof(block_ns[0]), cmp_double);
    printf("grants=%-7zu decide: %6.0f ns/op median of %d blocks (fastest %.0f) over %d "
           "decisions (user + 4 groups, all known to the policy; depth 3; %.0f%% allowed)\n",
           policy_snapshot_grant_count(s), block_ns[BLOCKS / 2], BLOCKS, block_ns[0],
           per * BLOCKS * NQUERIES, 100.0 * (double)allowed / NQUERIES);
    printf("grants=%-7zu compile: %8.1f ms for %zu bytes of policy; snapshot %.1f MiB "
           "(max RSS grew %.1f MiB)\n",
           policy_snapshot_grant_count(s), (t1 - t0) * 1e3, len,
           (double)policy_snapshot_memory(s) / 1048576.0, (double)(rss1 - rss0) / 1024.0);
    fflush(stdout);
    policy_snapshot_unref(s);
    policy_diag_deinit(&d);
    free(text);
}

/* Usage: bench_policy [GRANTS [ROUNDS]]; without arguments 10, 1,000 and 100,000 grants. */
int main(int argc, char **argv)
{
    int rounds = argc > 2 ? atoi(argv[2]) : ROUNDS;
    if (argc > 1) {
        bench((size_t)strtoul(argv[1], NULL, 10), rounds);
        return 0;
    }
    bench(10, rounds);
    bench(1000, rounds);
    bench(100000, rounds);
    return 0;
}
