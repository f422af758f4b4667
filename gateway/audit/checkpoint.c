/*
 * audit/checkpoint: see checkpoint.h. OpenSSL 3 EVP for Ed25519 (one-shot EVP_DigestSign /
 * EVP_DigestVerify, no digest: Ed25519 hashes internally); jansson to read a checkpoint line.
 */
#include "audit/checkpoint.h"

#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "auth/digest.h"

struct audit_signer {
    EVP_PKEY *key;
    char key_id[AUDIT_KEY_ID_HEX + 1];
};

struct audit_pubkey {
    EVP_PKEY *key;
    char key_id[AUDIT_KEY_ID_HEX + 1];
};

static void set_err(char *err, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void set_err(char *err, size_t errlen, const char *fmt, ...)
{
    if (!err || errlen == 0)
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, errlen, fmt, ap);
    va_end(ap);
}

/* key_id: first 8 bytes of SHA-256(raw public key), as hex. */
static int key_id_of(EVP_PKEY *k, char out[AUDIT_KEY_ID_HEX + 1])
{
    unsigned char raw[32], h[SHA256_LEN];
    size_t n = sizeof(raw);
    if (EVP_PKEY_get_raw_public_key(k, raw, &n) != 1 || n != sizeof(raw) ||
        auth_sha256(raw, n, h) != 0)
        return -1;
    auth_hex(h, AUDIT_KEY_ID_HEX / 2, out);
    return 0;
}

static EVP_PKEY *read_pem(const char *path, bool want_private, char *err, size_t errlen)
{
    FILE *f = fopen(path, "r");
    if (!f) {
        set_err(err, errlen, "cannot open '%s': %s", path, strerror(errno));
        return NULL;
    }
    EVP_PKEY *k = NULL;
    if (want_private) {
        k = PEM_read_PrivateKey(f, NULL, NULL, NULL);
    } else {
        k = PEM_read_PUBKEY(f, NULL, NULL, NULL);
        if (!k) {
            rewind(f);
            k = PEM_read_PrivateKey(f, NULL, NULL, NULL);
        }
    }
    fclose(f);
    if (!k) {
        set_err(err, errlen, "'%s' holds no PEM %s key", path, want_private ? "private" : "public");
        return NULL;
    }
    if (EVP_PKEY_get_base_id(k) != EVP_PKEY_ED25519) {
        set_err(err, errlen,
                "'%s' is not an Ed25519 key (create one with "
                "`openssl genpkey -algorithm ed25519` or `wardenctl audit keygen`)",
                path);
        EVP_PKEY_free(k);
        return NULL;
    }
    return k;
}

struct audit_signer *audit_signer_new(const char *pem_path, char *err, size_t errlen)
{
    struct audit_signer *s = calloc(1, sizeof(*s));
    if (!s) {
        set_err(err, errlen, "out of memory");
        return NULL;
    }
    s->key = read_pem(pem_path, true, err, errlen);
    if (!s->key)
        goto fail;
    if (key_id_of(s->key, s->key_id) != 0) {
        set_err(err, errlen, "'%s': cannot derive the public key", pem_path);
        goto fail;
    }
    return s;
fail:
    audit_signer_free(s);
    return NULL;
}

void audit_signer_free(struct audit_signer *s)
{
    if (!s)
        return;
    EVP_PKEY_free(s->key);
    free(s);
}

const char *audit_signer_key_id(const struct audit_signer *s)
{
    return s->key_id;
}

struct audit_pubkey *audit_pubkey_load(const char *pem_path, char *err, size_t errlen)
{
    struct audit_pubkey *k = calloc(1, sizeof(*k));
    if (!k) {
        set_err(err, errlen, "out of memory");
        return NULL;
    }
    k->key = read_pem(pem_path, false, err, errlen);
    if (!k->key)
        goto fail;
    if (key_id_of(k->key, k->key_id) != 0) {
        set_err(err, errlen, "'%s': cannot read the public key", pem_path);
        goto fail;
    }
    return k;
fail:
    audit_pubkey_free(k);
    return NULL;
}

void audit_pubkey_free(struct audit_pubkey *k)
{
    if (!k)
        return;
    EVP_PKEY_free(k->key);
    free(k);
}

const char *audit_pubkey_key_id(const struct audit_pubkey *k)
{
    return k->key_id;
}

size_t audit_checkpoint_message(uint64_t seq, const char hash_hex[AUDIT_HASH_HEX], char *out,
                                size_t cap)
{
    int n = snprintf(out, cap, "warden-audit-checkpoint/1 seq=%llu hash=%.*s",
                     (unsigned long long)seq, AUDIT_HASH_HEX, hash_hex);
    return n < 0 || (size_t)n >= cap ? 0 : (size_t)n;
}

int audit_checkpoint_fill(const struct audit_signer *s, struct audit_record *r, uint64_t seq,
                          const char hash_hex[AUDIT_HASH_HEX], char *err, size_t errlen)
{
    char msg[160], seqs[24], sig_hex[2 * AUDIT_SIG_LEN + 1];
    unsigned char sig[AUDIT_SIG_LEN];
    size_t siglen = sizeof(sig);
    int rc = -1;
    size_t mlen = audit_checkpoint_message(seq, hash_hex, msg, sizeof(msg));
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    if (!ctx || mlen == 0 || EVP_DigestSignInit(ctx, NULL, NULL, NULL, s->key) != 1 ||
        EVP_DigestSign(ctx, sig, &siglen, (const unsigned char *)msg, mlen) != 1 ||
        siglen != sizeof(sig)) {
        set_err(err, errlen, "Ed25519 signing failed");
        goto fail;
    }
    auth_hex(sig, sizeof(sig), sig_hex);
    snprintf(seqs, sizeof(seqs), "%llu", (unsigned long long)seq);
    AUDIT_SET(r, service, "warden", 6);
    AUDIT_SET(r, action, "audit_checkpoint", 16);
    r->status = 200;
    AUDIT_SET(r, decision.reason, "signed checkpoint of the audit chain", 36);
    audit_record_add_param(r, "signed_seq", 10, seqs, strlen(seqs));
    audit_record_add_param(r, "signed_hash", 11, hash_hex, AUDIT_HASH_HEX);
    audit_record_add_param(r, "alg", 3, "ed25519", 7);
    audit_record_add_param(r, "key_id", 6, s->key_id, AUDIT_KEY_ID_HEX);
    audit_record_add_param(r, "signature", 9, sig_hex, 2 * AUDIT_SIG_LEN);
    rc = 0;
fail:
    EVP_MD_CTX_free(ctx);
    return rc;
}

static const char checkpoint_marker[] = ",\"service\":\"warden\",\"action\":\"audit_checkpoint\",";

bool audit_line_is_checkpoint(const char *line, size_t len)
{
    /* A raw '"' right after ',' never occurs inside an escaped string value, so the marker
     * only matches the real service and action members. */
    return memmem(line, len, checkpoint_marker, sizeof(checkpoint_marker) - 1) != NULL;
}

static const char *param_str(json_t *params, const char *key, size_t *n)
{
    json_t *v = json_object_get(params, key);
    if (!json_is_string(v))
        return NULL;
    *n = json_string_length(v);
    return json_string_value(v);
}

int audit_checkpoint_parse(const char *line, size_t len, struct audit_checkpoint *out, char *err,
                           size_t errlen)
{
    struct audit_line l;
    json_error_t jerr;
    json_t *root = NULL;
    int rc = -1;
    memset(out, 0, sizeof(*out));
    if (audit_line_parse(line, len, &l, err, errlen) != 0)
        return -1;
    root = json_loadb(line, len, JSON_REJECT_DUPLICATES, &jerr);
    if (!root || !json_is_object(root)) {
        set_err(err, errlen, "seq %llu: checkpoint is not a JSON object",
                (unsigned long long)l.seq);
        goto fail;
    }
    json_t *svc = json_object_get(root, "service"), *act = json_object_get(root, "action");
    json_t *params = json_object_get(root, "params");
    if (!json_is_string(svc) || strcmp(json_string_value(svc), "warden") != 0 ||
        !json_is_string(act) || strcmp(json_string_value(act), "audit_checkpoint") != 0 ||
        !json_is_object(params)) {
        set_err(err, errlen, "seq %llu: not a checkpoint record", (unsigned long long)l.seq);
        goto fail;
    }
    size_t n_seq = 0, n_hash = 0, n_alg = 0, n_kid = 0, n_sig = 0;
    const char *s_seq = param_str(params, "signed_seq", &n_seq);
    const char *s_hash = param_str(params, "signed_hash", &n_hash);
    const char *s_alg = param_str(params, "alg", &n_alg);
    const char *s_kid = param_str(params, "key_id", &n_kid);
    const char *s_sig = param_str(params, "signature", &n_sig);
    if (!s_seq || !s_hash || !s_alg || !s_kid || !s_sig) {
        set_err(err, errlen,
                "seq %llu: checkpoint lacks signed_seq, signed_hash, alg, key_id or "
                "signature",
                (unsigned long long)l.seq);
        goto fail;
    }
    if (n_alg != 7 || memcmp(s_alg, "ed25519", 7) != 0) {
        set_err(err, errlen, "seq %llu: checkpoint algorithm is not ed25519",
                (unsigned long long)l.seq);
        goto fail;
    }
    uint64_t sseq = 0;
    bool seq_ok = n_seq > 0 && n_seq <= 20 && s_seq[0] != '0';
    for (size_t i = 0; seq_ok && i < n_seq; i++) {
        unsigned d = (unsigned)(s_seq[i] - '0');
        if (s_seq[i] < '0' || s_seq[i] > '9' || sseq > (UINT64_MAX - d) / 10)
            seq_ok = false;
        else
            sseq = sseq * 10 + d;
    }
    if (!seq_ok || l.seq < 2 || sseq != l.seq - 1) {
        set_err(err, errlen, "seq %llu: checkpoint signed_seq is not the previous record",
                (unsigned long long)l.seq);
        goto fail;
    }
    if (n_hash != AUDIT_HASH_HEX ||
        auth_unhex(s_hash, n_hash, out->signed_hash, AUDIT_HASH_LEN) != 0 ||
        memcmp(out->signed_hash, l.prev, AUDIT_HASH_LEN) != 0) {
        set_err(err, errlen, "seq %llu: checkpoint signed_hash is not its prev_hash",
                (unsigned long long)l.seq);
        goto fail;
    }
    if (n_kid != AUDIT_KEY_ID_HEX || n_sig != 2 * AUDIT_SIG_LEN ||
        auth_unhex(s_sig, n_sig, out->sig, AUDIT_SIG_LEN) != 0) {
        set_err(err, errlen, "seq %llu: checkpoint key_id or signature malformed",
                (unsigned long long)l.seq);
        goto fail;
    }
    memcpy(out->key_id, s_kid, AUDIT_KEY_ID_HEX);
    out->key_id[AUDIT_KEY_ID_HEX] = '\0';
    out->seq = l.seq;
    out->signed_seq = sseq;
    rc = 0;
fail:
    json_decref(root);
    return rc;
}

int audit_checkpoint_verify(const struct audit_pubkey *k, const struct audit_checkpoint *cp,
                            char *err, size_t errlen)
{
    char hex[AUDIT_HASH_HEX + 1], msg[160];
    int rc = -1;
    if (strcmp(cp->key_id, k->key_id) != 0) {
        set_err(err, errlen, "seq %llu: checkpoint signed by key %s, not by the given key %s",
                (unsigned long long)cp->seq, cp->key_id, k->key_id);
        return -1;
    }
    auth_hex(cp->signed_hash, AUDIT_HASH_LEN, hex);
    size_t mlen = audit_checkpoint_message(cp->signed_seq, hex, msg, sizeof(msg));
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    if (!ctx || mlen == 0 || EVP_DigestVerifyInit(ctx, NULL, NULL, NULL, k->key) != 1) {
        set_err(err, errlen, "Ed25519 verification unavailable");
        goto fail;
    }
    if (EVP_DigestVerify(ctx, cp->sig, AUDIT_SIG_LEN, (const unsigned char *)msg, mlen) != 1) {
        set_err(err, errlen,
                "seq %llu: checkpoint signature does not verify: records up to seq %llu were "
                "rewritten (or the checkpoint forged)",
                (unsigned long long)cp->seq, (unsigned long long)cp->signed_seq);
        goto fail;
    }
    rc = 0;
fail:
    EVP_MD_CTX_free(ctx);
    return rc;
}

static int write_pem(const char *path, EVP_PKEY *k, bool priv, char *err, size_t errlen)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, priv ? 0600 : 0644);
    if (fd < 0) {
        set_err(err, errlen, "cannot create '%s': %s", path, strerror(errno));
        return -1;
    }
    FILE *f = fdopen(fd, "w");
    if (!f) {
        close(fd);
        set_err(err, errlen, "cannot write '%s'", path);
        return -1;
    }
    int ok = priv ? PEM_write_PrivateKey(f, k, NULL, NULL, 0, NULL, NULL) : PEM_write_PUBKEY(f, k);
    if (fclose(f) != 0 || ok != 1) {
        set_err(err, errlen, "cannot write '%s'", path);
        return -1;
    }
    return 0;
}

int audit_keygen(const char *private_path, const char *public_path, char *err, size_t errlen)
{
    EVP_PKEY *k = NULL;
    int rc = -1;
    EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_id(EVP_PKEY_ED25519, NULL);
    if (!ctx || EVP_PKEY_keygen_init(ctx) != 1 || EVP_PKEY_keygen(ctx, &k) != 1) {
        set_err(err, errlen, "Ed25519 key generation failed");
        goto fail;
    }
    if (write_pem(private_path, k, true, err, errlen) != 0)
        goto fail;
    if (write_pem(public_path, k, false, err, errlen) != 0)
        goto fail;
    rc = 0;
fail:
    EVP_PKEY_free(k);
    EVP_PKEY_CTX_free(ctx);
    return rc;
}
