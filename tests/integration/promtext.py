"""Minimal parser for the Prometheus text exposition format (version 0.0.4).

What it is for: test_admin.py and others read Warden's /metrics. It validates every line
strictly (comment lines `# HELP`/`# TYPE`, samples `name{labels} value`) and returns samples as
{(name, frozenset(labels.items())): float}. Pure functions, no I/O.
"""

import math
import re

_NAME = r"[a-zA-Z_:][a-zA-Z0-9_:]*"
_SAMPLE = re.compile(r"^(%s)(\{(.*)\})?[ \t]+(\S+)([ \t]+-?\d+)?$" % _NAME)
_LABEL = re.compile(r'\s*([a-zA-Z_][a-zA-Z0-9_]*)\s*=\s*"((?:[^"\\]|\\.)*)"\s*(,|$)')
_TYPES = {"counter", "gauge", "histogram", "summary", "untyped"}


class ParseError(ValueError):
    pass


def _labels(text, lineno):
    out = {}
    pos = 0
    while pos < len(text):
        m = _LABEL.match(text, pos)
        if not m:
            raise ParseError("line %d: bad label set %r" % (lineno, text))
        out[m.group(1)] = m.group(2).encode().decode("unicode_escape")
        pos = m.end()
    return out


def _value(text, lineno):
    if text in ("+Inf", "Inf"):
        return math.inf
    if text == "-Inf":
        return -math.inf
    if text == "NaN":
        return math.nan
    try:
        return float(text)
    except ValueError:
        raise ParseError("line %d: bad value %r" % (lineno, text))


def parse(text):
    """Return (samples, types): samples {(name, frozenset(labels)): value}, types {name: type}."""
    samples = {}
    types = {}
    if text and not text.endswith("\n"):
        raise ParseError("exposition must end with a newline")
    for lineno, line in enumerate(text.split("\n")[:-1], 1):
        if line == "":
            continue
        if line.startswith("#"):
            parts = line.split(None, 3)
            if len(parts) >= 2 and parts[1] == "TYPE":
                if len(parts) != 4 or parts[3].strip() not in _TYPES:
                    raise ParseError("line %d: bad TYPE line %r" % (lineno, line))
                if not re.fullmatch(_NAME, parts[2]):
                    raise ParseError("line %d: bad metric name %r" % (lineno, parts[2]))
                types[parts[2]] = parts[3].strip()
            elif len(parts) >= 2 and parts[1] == "HELP":
                if len(parts) < 3 or not re.fullmatch(_NAME, parts[2]):
                    raise ParseError("line %d: bad HELP line %r" % (lineno, line))
            continue
        m = _SAMPLE.match(line)
        if not m:
            raise ParseError("line %d: not a sample: %r" % (lineno, line))
        labels = _labels(m.group(3) or "", lineno)
        key = (m.group(1), frozenset(labels.items()))
        if key in samples:
            raise ParseError("line %d: duplicate sample %r" % (lineno, line))
        samples[key] = _value(m.group(4), lineno)
    return samples, types


def value(samples, name, **labels):
    """The sample `name{labels}`; None when absent."""
    return samples.get((name, frozenset(labels.items())))


def total(samples, name):
    """Sum of every sample of `name` regardless of labels."""
    return sum(v for (n, _), v in samples.items() if n == name)
