/* rgcheck: the checks of `ecoctl registry load` that need no database.
 *
 * Field syntax (codes, HJ 212 codes and MNs, passwords, phone numbers,
 * decimal numbers, UTF-8), one row at a time per file (required fields,
 * enumerations, ranges, coordinates, water/sea target classes, ;-lists),
 * and duplicate keys within one file. A rejected field is reported through
 * rg_err as "column: reason" on the row's line and nulled, so the staged
 * row stays well typed and the field is not reported again as missing.
 * Pure functions of their arguments; no I/O. */
#ifndef ECO_RGCHECK_H
#define ECO_RGCHECK_H

#include "rg.h"

#include <stdbool.h>
#include <stddef.h>

/* core.* code syntax: ^[A-Za-z0-9_.-]{1,64}$ (the schema CHECK). */
bool rgcheck_is_code(const char *s);
/* core.param code syntax: ^[a-z0-9_]{1,32}$. */
bool rgcheck_is_pcode(const char *s);
/* HJ 212 pollutant codes (a21026, w01018, B02, 011, Leq, ...): 1-16 alnum. */
bool rgcheck_is_hjcode(const char *s);
/* HJ 212 ST: two characters 0-9/A-Z. */
bool rgcheck_is_st(const char *s);
/* HJ 212-2017 MN: 24 upper-case hex digits. */
bool rgcheck_is_mn(const char *s);
/* 1-64 printable ASCII without space and the frame separators ; , & =. */
bool rgcheck_is_password(const char *s);
/* 1-32 of 0-9 + - ( ) and space. */
bool rgcheck_is_phone(const char *s);

/* Decimal numbers only: [+-]digits[.digits][e[+-]digits], finite. Returns
 * 0 with *out set, or -EINVAL (hex, inf, nan, out of double range...). */
int rgcheck_number(const char *s, double *out);
/* [+-] and 1-6 digits. Returns 0 with *out set, or -EINVAL. */
int rgcheck_integer(const char *s, long *out);
/* Strict UTF-8: no overlongs, no surrogates, nothing above U+10FFFF. */
bool rgcheck_utf8(const unsigned char *s, size_t n);

/* v quoted for a message into out (cap bytes, >= 8): at most ~60 bytes,
 * cut on a character boundary, control characters shown as '?'. Returns
 * out (or "" when cap is too small). */
const char *rgcheck_quote(char *out, size_t cap, const char *v);

/* Reports a problem with column col of row R of file F ("" and no column
 * name when col < 0), nulls the field and marks the row bad. */
void rgcheck_reject(struct rg_load *L, struct rg_file *F, struct rg_row *R, int col,
                    const char *fmt, ...) __attribute__((format(printf, 5, 6)));

/* Runs the checks of F's kind of file on row R (may rewrite fields in
 * place into canonical form: integers, booleans t/f, ;-lists). */
void rgcheck_row(struct rg_load *L, struct rg_file *F, struct rg_row *R);

/* Reports every row of file fid whose key (code, or the file's compound
 * key) repeats an earlier row's. Returns 0 or -ENOMEM. */
int rgcheck_dups(struct rg_load *L, int fid);

#endif
