/*
 * clock: the two clocks Warden reads, in milliseconds. Wall time (CLOCK_REALTIME) for what is
 * compared with other machines (token expiry, audit timestamps, assertion iat/exp);
 * monotonic time (CLOCK_MONOTONIC) for durations and cache ages. Any thread; vDSO calls.
 */
#ifndef WARDEN_UTIL_CLOCK_H
#define WARDEN_UTIL_CLOCK_H

#include <stdint.h>
#include <time.h>

static inline int64_t clock_wall_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static inline int64_t clock_mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

#endif
