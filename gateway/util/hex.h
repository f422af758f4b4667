/*
 * hex: the value of one hexadecimal digit, shared by every parser that decodes hex (percent
 * escapes, token hashes, page tokens). Pure, header-only.
 */
#ifndef WARDEN_UTIL_HEX_H
#define WARDEN_UTIL_HEX_H

/* 0..15 for [0-9a-fA-F], -1 for anything else. */
static inline int hex_digit(int c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

#endif
