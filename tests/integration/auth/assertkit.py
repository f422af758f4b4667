"""Verification of Warden's upstream identity assertions for the integration tests (issue 7).

What it is for: an independent JWS verifier (the `cryptography` package, not Warden's code) for
the X-Warden-Assertion tokens, with the key set fetched from Warden's admin port, so a test can
show that an upstream holding only the published JWKS accepts a genuine assertion and rejects
a tampered or expired one. Supports the algorithms Warden signs with: ES256/ES384/ES512,
RS256 and EdDSA.

What it owns: nothing (pure functions). Threads: any.
"""

import base64
import json
import time

import requests
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, padding, rsa, utils


class InvalidAssertion(Exception):
    """The assertion must be rejected (the message says why)."""


def b64d(s):
    if isinstance(s, str):
        s = s.encode()
    return base64.urlsafe_b64decode(s + b"=" * (-len(s) % 4))


def b64e(b):
    return base64.urlsafe_b64encode(b).rstrip(b"=").decode()


def fetch_jwks(w, path="/.well-known/jwks.json"):
    r = requests.get(w.admin_url + path, timeout=10)
    return r


_CURVES = {"P-256": (ec.SECP256R1(), hashes.SHA256(), 32),
           "P-384": (ec.SECP384R1(), hashes.SHA384(), 48),
           "P-521": (ec.SECP521R1(), hashes.SHA512(), 66)}


def _public_key(jwk):
    if jwk["kty"] == "EC":
        curve = _CURVES[jwk["crv"]][0]
        x = int.from_bytes(b64d(jwk["x"]), "big")
        y = int.from_bytes(b64d(jwk["y"]), "big")
        return ec.EllipticCurvePublicNumbers(x, y, curve).public_key()
    if jwk["kty"] == "RSA":
        n = int.from_bytes(b64d(jwk["n"]), "big")
        e = int.from_bytes(b64d(jwk["e"]), "big")
        return rsa.RSAPublicNumbers(e, n).public_key()
    if jwk["kty"] == "OKP" and jwk["crv"] == "Ed25519":
        return ed25519.Ed25519PublicKey.from_public_bytes(b64d(jwk["x"]))
    raise InvalidAssertion("unsupported key type %s" % jwk["kty"])


def verify(jwks, token, issuer, audience, now=None):
    """Verify token against the key set; returns its claims or raises InvalidAssertion."""
    try:
        h64, p64, s64 = token.split(".")
        header = json.loads(b64d(h64))
        claims = json.loads(b64d(p64))
        sig = b64d(s64)
    except (ValueError, TypeError) as e:
        raise InvalidAssertion("malformed token: %s" % e)
    keys = [k for k in jwks["keys"] if k.get("kid") == header.get("kid")]
    if len(keys) != 1:
        raise InvalidAssertion("unknown key id %r" % header.get("kid"))
    jwk = keys[0]
    alg = header.get("alg")
    if alg != jwk.get("alg"):
        raise InvalidAssertion("algorithm %r does not match the key's %r" % (alg, jwk.get("alg")))
    key = _public_key(jwk)
    data = (h64 + "." + p64).encode()
    try:
        if alg.startswith("ES"):
            _, digest, clen = _CURVES[jwk["crv"]]
            if len(sig) != 2 * clen:
                raise InvalidAssertion("bad signature length")
            der = utils.encode_dss_signature(int.from_bytes(sig[:clen], "big"),
                                             int.from_bytes(sig[clen:], "big"))
            key.verify(der, data, ec.ECDSA(digest))
        elif alg == "RS256":
            key.verify(sig, data, padding.PKCS1v15(), hashes.SHA256())
        elif alg == "EdDSA":
            key.verify(sig, data)
        else:
            raise InvalidAssertion("unexpected algorithm %r" % alg)
    except InvalidSignature:
        raise InvalidAssertion("invalid signature")
    now = time.time() if now is None else now
    if claims.get("iss") != issuer:
        raise InvalidAssertion("issuer %r" % claims.get("iss"))
    if claims.get("aud") != audience:
        raise InvalidAssertion("audience %r" % claims.get("aud"))
    if not isinstance(claims.get("exp"), int) or now >= claims["exp"]:
        raise InvalidAssertion("expired (exp %r)" % claims.get("exp"))
    if not isinstance(claims.get("iat"), int) or claims["iat"] > now + 60:
        raise InvalidAssertion("issued in the future")
    return claims


def tamper_claims(token, **changes):
    """The same token with claims changed and the original signature kept."""
    h64, p64, s64 = token.split(".")
    claims = json.loads(b64d(p64))
    claims.update(changes)
    return h64 + "." + b64e(json.dumps(claims, separators=(",", ":")).encode()) + "." + s64


def flip_signature(token):
    h64, p64, s64 = token.split(".")
    sig = bytearray(b64d(s64))
    sig[len(sig) // 2] ^= 0x01
    return h64 + "." + p64 + "." + b64e(bytes(sig))


def act_chain(claims):
    """[current actor, prior, ...] from the nested act claim."""
    out = []
    a = claims.get("act")
    while a:
        out.append(a["sub"])
        a = a.get("act")
    return out
