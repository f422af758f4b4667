/*
 * audit/chain: tamper evidence for the native JSON log. Each record carries the hash of the
 * instance's previous record (prev_hash; 64 zeros for the first record of a new log) and its
 * own hash. Exactly which bytes are hashed:
 *
 *   hash = SHA-256 of the record's native JSON line (format.h) as written, without its
 *          trailing newline, with the value of the final "hash" member empty, i.e. the line
 *          ends in  ,"prev_hash":"<64 hex>","hash":""}
 *
 * The 64 lowercase hex digits of the hash are then inserted between those last quotes. A
 * verifier removes them again and recomputes. Because prev_hash is inside the hashed bytes,
 * editing, removing, inserting or reordering a record breaks the link to its successor.
 * Sequence numbers run from 1 without gaps and continue across rotated files and restarts
 * (audit_chain_resume). The chain alone does not stop someone who rewrites every later line;
 * that is what signed checkpoints add.
 *
 * A verifiable line has this shape, which audit_line_parse checks without a JSON parser:
 *   {"v":1,"seq":<1..2^64-1, no leading zero>, ... ,"prev_hash":"<64 hex>","hash":"<64 hex>"}
 * and contains no raw byte below 0x20 (the formatter escapes them all).
 *
 * audit_chain_seal runs on the one thread that orders the log (the audit writer); the
 * parser and verifier are pure and run anywhere.
 */
#ifndef WARDEN_AUDIT_CHAIN_H
#define WARDEN_AUDIT_CHAIN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "audit/record.h"

#define AUDIT_HASH_LEN 32

struct audit_chain {
    unsigned char prev[AUDIT_HASH_LEN];
    uint64_t next_seq;
    unsigned char instance[4]; /* random bits that make event ids unique across instances */
};

/* A new log: prev_hash zeros, first seq 1. instance: 4 random bytes (NULL: zeros). */
void audit_chain_init(struct audit_chain *c, const unsigned char instance[4]);

/* Continue after the last line of an existing log (without its newline). 0 or -1. */
int audit_chain_resume(struct audit_chain *c, const char *last_line, size_t len, char *err,
                       size_t errlen);

/* Assign r's seq, event_id, prev_hash and hash, and write its JSON line followed by '\n'
 * into buf (*out_len counts the newline). Returns 0, or -1 if buf is too small or hashing
 * failed; the chain then does not advance. */
int audit_chain_seal(struct audit_chain *c, struct audit_record *r, char *buf, size_t cap,
                     size_t *out_len, char *err, size_t errlen);

/* What sealing assigned to one record. */
struct audit_seal {
    uint64_t seq;
    char event_id[AUDIT_EVENT_ID_MAX];
    char prev_hash[AUDIT_HASH_HEX + 1];
    char hash[AUDIT_HASH_HEX + 1];
};

/* Bytes a sealed line adds around its body (head, tail and newline), at most. */
#define AUDIT_SEAL_OVERHEAD 256

/* audit_chain_seal for a record whose body (format.h: audit_format_json_body) is already
 * rendered: writes the whole line and its '\n' into buf (cap >= blen + AUDIT_SEAL_OVERHEAD),
 * byte for byte what audit_chain_seal writes for the same record. time_ms is the record's
 * time (it goes into the event id). out (may be NULL) receives the assigned fields. Returns
 * 0, or -1 (buffer too small, hashing failed) without advancing the chain. */
int audit_chain_seal_body(struct audit_chain *c, int64_t time_ms, const char *body, size_t blen,
                          char *buf, size_t cap, size_t *out_len, struct audit_seal *out, char *err,
                          size_t errlen);

/* The UUIDv7 text of an event: 48-bit time_ms, version 7, seq bits 32..43 in rand_a, variant
 * 10, 30 instance bits and seq bits 0..31 in rand_b. out holds AUDIT_EVENT_ID_MAX bytes. */
void audit_event_id(int64_t time_ms, uint64_t seq, const unsigned char instance[4], char *out);

struct audit_line {
    uint64_t seq;
    unsigned char prev[AUDIT_HASH_LEN];
    unsigned char hash[AUDIT_HASH_LEN];
    size_t hash_off; /* offset of the hash's first hex digit in the line */
};

/* Parse the chain fields of one line (no newline). 0, or -1 with the reason in err. */
int audit_line_parse(const char *line, size_t len, struct audit_line *out, char *err,
                     size_t errlen);

/* Recompute a parsed line's hash. Returns 0 or -1 (OpenSSL failure). */
int audit_line_digest(const char *line, size_t len, const struct audit_line *l,
                      unsigned char out[AUDIT_HASH_LEN]);

/* Incremental verifier over the lines of one or more files, in order. */
struct audit_verify {
    uint64_t count;
    uint64_t first_seq, last_seq;
    bool first_is_genesis; /* the first record had a zero prev_hash */
    unsigned char last_hash[AUDIT_HASH_LEN];
};

void audit_verify_init(struct audit_verify *v);

/* Check the next line (without its newline). 0, or -1 with why the chain breaks here in err;
 * the verifier state is then unchanged. */
int audit_verify_line(struct audit_verify *v, const char *line, size_t len, char *err,
                      size_t errlen);

#endif
