// SPDX-License-Identifier: MIT
/* utf8: the RFC 3629 rules that every text blkxlate quotes must keep. */
#include "base/utf8.h"

#include <string.h>

/*
 * After a cut to fit a buffer, drop a last UTF-8 character that lost some
 * of its bytes: messages and paths quote the input, and their JSON form
 * must stay valid UTF-8.
 */
void utf8_trim(char *s)
{
	size_t n = strlen(s), i = n, need;
	unsigned char c;

	/* back to the start of the last character */
	while (i > 0 && ((unsigned char)s[i - 1] & 0xc0) == 0x80 && n - i < 3)
		i--;
	if (i == 0)
		return;
	c = (unsigned char)s[i - 1];
	if (c < 0x80)
		return;
	need = c >= 0xf0 ? 4 : c >= 0xe0 ? 3 : c >= 0xc0 ? 2 : 1;
	if (n - (i - 1) < need)
		s[i - 1] = '\0';
}

/*
 * Offset of the first byte of s[0..n) that is not RFC 3629 UTF-8, or n.
 * json-c's JSON_TOKENER_VALIDATE_UTF8 checks only the shape of each
 * sequence (a lead byte and its continuation bytes); overlong forms,
 * surrogates and code points above U+10FFFF pass it, and would then be
 * quoted into messages and warnings that are not valid UTF-8.
 */
size_t utf8_invalid_at(const unsigned char *s, size_t n)
{
	size_t i = 0;

	while (i < n) {
		unsigned char c = s[i], lo = 0x80, hi = 0xbf;
		size_t more;

		if (c < 0x80) {
			i++;
			continue;
		}
		if (c >= 0xc2 && c <= 0xdf) {
			more = 1;
		} else if (c >= 0xe0 && c <= 0xef) {
			more = 2;
			lo = c == 0xe0 ? 0xa0 : 0x80; /* no overlong */
			hi = c == 0xed ? 0x9f : 0xbf; /* no surrogate */
		} else if (c >= 0xf0 && c <= 0xf4) {
			more = 3;
			lo = c == 0xf0 ? 0x90 : 0x80; /* no overlong */
			hi = c == 0xf4 ? 0x8f : 0xbf; /* <= U+10FFFF */
		} else {
			return i;
		}
		if (n - i <= more || s[i + 1] < lo || s[i + 1] > hi)
			return i;
		for (size_t k = 2; k <= more; k++)
			if (s[i + k] < 0x80 || s[i + k] > 0xbf)
				return i;
		i += more + 1;
	}
	return n;
}
