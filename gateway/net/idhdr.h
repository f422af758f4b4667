/*
 * idhdr: the identity header lines Warden sends upstream for a request (DESIGN.md §6,
 * conf/README.md "Upstream identity modes"): X-Warden-User, -Groups, -Scopes, -Auth-Method,
 * -Issuer, -Token-Id for the subject, X-Warden-Actor (the actor chain, current first) on behalf
 * of a user, and X-Warden-Assertion when the caller passes one. Used for forwarded requests
 * (net/conn) and for the requests Warden makes for a client (the pages of a filtered search,
 * net/enforce_filter), so both carry the same identity. Every client-sent header of these
 * names is removed before (net/conn). Pure; any thread.
 *
 * Values are safe by construction: principal.h guarantees no control characters, and no ','
 * or whitespace inside group and scope names, so lists join with ','.
 */
#ifndef WARDEN_NET_IDHDR_H
#define WARDEN_NET_IDHDR_H

#include <stddef.h>

struct authn_identity;

/* Writes the header lines ("Name: value\r\n" each) for id into buf (at most cap bytes, not
 * NUL-terminated). Returns the length the lines need; when that exceeds cap, buf holds a
 * prefix and the caller treats it as an overflow. assertion may be NULL. */
size_t idhdr_format(const struct authn_identity *id, const char *assertion, size_t assertion_len,
                    char *buf, size_t cap);

#endif
