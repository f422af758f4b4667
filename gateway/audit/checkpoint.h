/*
 * audit/checkpoint: signed checkpoints of the audit chain. The hash chain (chain.h) shows
 * that records were edited, removed, inserted or reordered, unless someone rewrites every
 * later record too; a checkpoint closes that gap: at intervals (and at shutdown) the pipeline
 * appends a record that carries an Ed25519 signature over the sequence number and hash of the
 * record before it. Rewriting any covered record changes that hash, and the signature cannot
 * be recomputed without the private key. Verifiers need only the public key.
 *
 * A checkpoint is an ordinary record of the chain (so every sink receives it and sequence
 * numbers stay gapless): service "warden", action "audit_checkpoint", status 200, and the
 * parameters
 *   signed_seq   the sequence number of the record before the checkpoint
 *   signed_hash  that record's hash (equal to the checkpoint's prev_hash), 64 hex
 *   alg          "ed25519"
 *   key_id       the first 16 hex digits of SHA-256 over the raw 32-byte public key
 *   signature    128 hex digits: Ed25519 over the ASCII message
 *                "warden-audit-checkpoint/1 seq=<signed_seq> hash=<signed_hash>"
 *
 * Why Ed25519 rather than HMAC: auditors verify with the public key alone, so whoever can
 * check the log cannot forge it. Keys are PEM files (`openssl genpkey -algorithm ed25519`,
 * or `wardenctl audit keygen`).
 *
 * The signer is used by the pipeline thread; parsing and verification are pure functions of
 * their input (and the key), any thread.
 */
#ifndef WARDEN_AUDIT_CHECKPOINT_H
#define WARDEN_AUDIT_CHECKPOINT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "audit/chain.h"
#include "audit/record.h"

#define AUDIT_KEY_ID_HEX 16
#define AUDIT_SIG_LEN    64

struct audit_signer;
struct audit_pubkey;

/* Load an Ed25519 private key (PEM). NULL with the reason in err. */
struct audit_signer *audit_signer_new(const char *pem_path, char *err, size_t errlen);
void audit_signer_free(struct audit_signer *s);
const char *audit_signer_key_id(const struct audit_signer *s);

/* Load an Ed25519 public key, or the public half of a private key (PEM). */
struct audit_pubkey *audit_pubkey_load(const char *pem_path, char *err, size_t errlen);
void audit_pubkey_free(struct audit_pubkey *k);
const char *audit_pubkey_key_id(const struct audit_pubkey *k);

/* The signed message for (seq, hash); returns its length (< cap), or 0 if cap is too small. */
size_t audit_checkpoint_message(uint64_t seq, const char hash_hex[AUDIT_HASH_HEX], char *out,
                                size_t cap);

/* Fill r (already audit_record_init'ed) as the checkpoint covering the record (seq, hash_hex).
 * Returns 0, or -1 when signing failed. */
int audit_checkpoint_fill(const struct audit_signer *s, struct audit_record *r, uint64_t seq,
                          const char hash_hex[AUDIT_HASH_HEX], char *err, size_t errlen);

/* Whether a native JSON line is a checkpoint record (service "warden", action
 * "audit_checkpoint"); a cheap test on the fixed member order. */
bool audit_line_is_checkpoint(const char *line, size_t len);

struct audit_checkpoint {
    uint64_t seq;        /* the checkpoint record's own sequence number */
    uint64_t signed_seq; /* = seq - 1 */
    unsigned char signed_hash[AUDIT_HASH_LEN];
    char key_id[AUDIT_KEY_ID_HEX + 1];
    unsigned char sig[AUDIT_SIG_LEN];
};

/* Parse a checkpoint line's fields and check them against its chain fields (signed_seq is the
 * previous sequence number, signed_hash is prev_hash). Pure. 0, or -1 with why in err. */
int audit_checkpoint_parse(const char *line, size_t len, struct audit_checkpoint *out, char *err,
                           size_t errlen);

/* Check the signature with k (and that key_id names k). 0, or -1 with why in err. */
int audit_checkpoint_verify(const struct audit_pubkey *k, const struct audit_checkpoint *cp,
                            char *err, size_t errlen);

/* Generate a new key pair: private key PEM (mode 0600) and public key PEM. 0 or -1. */
int audit_keygen(const char *private_path, const char *public_path, char *err, size_t errlen);

#endif
