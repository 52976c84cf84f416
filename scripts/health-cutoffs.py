#!/usr/bin/env python3
"""Recompute the SP 800-90B health-test cut-offs of src/online/health.c.

Prints cutoff_table in the C syntax used there, so a reviewer can diff:

    scripts/health-cutoffs.py                      # print the table
    scripts/health-cutoffs.py --check src/online/health.c # compare, exit 1 if not equal
    scripts/health-cutoffs.py --verbose            # also the achieved tails

Standard library only.  H is given in half bits (the first column).

RCT (SP 800-90B 4.4.1):  C = 1 + ceil(a / H) for alpha = 2^-a.
APT (SP 800-90B 4.4.2):  C = 1 + CRITBINOM(W, 2^-H, 1 - alpha), W = 512,
  CRITBINOM(n, p, q) = least k with P(X <= k) >= q, X ~ Binomial(n, p);
  equivalently C = least c with P(X >= c) <= alpha.
For whole-bit H, p = 2^-H makes every probability an integer over 2^(H W):
  P(X = j) = binom(W, j) (2^H - 1)^(W - j) / 2^(H W),
  alpha    = 2^(H W - a) / 2^(H W),
so the comparison with alpha is between integers and involves no rounding.
For half-bit H, p is irrational; the sums are taken in 100-digit decimal
arithmetic, and a cut-off is accepted only when the tail differs from
alpha by far more than the rounding could move it.
"""

import argparse
import decimal
import math
import re
import sys

WINDOW = 512                     # SP 800-90B 4.4.2, non-binary samples
ALPHA_EXPONENTS = (30, 60)       # intermittent, permanent: alpha = 2^-a
ENTROPY_HALVES = (1, 2, 3, 4, 6, 8, 10, 12)   # the rows: 0.5, 1, 1.5, 2, 3, 4, 5, 6 bits


def rct_cutoff(halves, a):
    """1 + ceil(a / (halves / 2)) = 1 + ceil(2 a / halves), in integers."""
    return 1 + (2 * a + halves - 1) // halves


def apt_cutoff_decimal(halves, a, w=WINDOW):
    """As apt_cutoff, for half-bit H, in 100-digit decimals.

    Returns (c, P(X >= c) as a Decimal)."""
    ctx = decimal.Context(prec=100)
    p = ctx.power(decimal.Decimal(2), decimal.Decimal(-halves) / 2)
    q = ctx.subtract(1, p)
    alpha = ctx.power(decimal.Decimal(2), -a)
    tail = decimal.Decimal(0)
    for c in range(w, -1, -1):
        term = ctx.multiply(ctx.multiply(math.comb(w, c), ctx.power(p, c)),
                            ctx.power(q, w - c))
        if ctx.add(tail, term) > alpha:
            # far from a tie: 100 digits leave no doubt at these sizes
            assert abs(ctx.add(tail, term) - alpha) > alpha * decimal.Decimal("1e-50")
            return c + 1, tail
        tail = ctx.add(tail, term)
    return 0, tail


def apt_cutoff(halves, a, w=WINDOW):
    """Least c with P(X >= c) <= 2^-a, X ~ Binomial(w, 2^-(halves / 2)).

    Whole bits: returns (c, P(X >= c) as a numerator over 2^(h w)).
    """
    if halves % 2:
        return apt_cutoff_decimal(halves, a, w)
    h = halves // 2
    q = (1 << h) - 1             # (1 - p) scaled by 2^h
    limit = 1 << (h * w - a)     # alpha scaled by 2^(h w)
    tail = 0                     # P(X >= c) scaled, c walking down from w+1
    for c in range(w, -1, -1):
        term = math.comb(w, c) * q ** (w - c)
        if tail + term > limit:
            return c + 1, tail
        tail += term
    return 0, tail


def rows():
    for halves in ENTROPY_HALVES:
        rct = [rct_cutoff(halves, a) for a in ALPHA_EXPONENTS]
        apt = [apt_cutoff(halves, a) for a in ALPHA_EXPONENTS]
        yield halves, rct, apt


def table_text():
    out = ["static const struct health_cutoffs cutoff_table[] = {",
           "\t/* H x 2  RCT  RCT perm  APT  APT perm */"]
    for halves, rct, apt in rows():
        out.append("\t{ %2d,     %3d, %3d,       %3d, %3d }," %
                   (halves, rct[0], rct[1], apt[0][0], apt[1][0]))
    out.append("};")
    return "\n".join(out) + "\n"


def log2_fraction(num, den_bits):
    """log2(num / 2^den_bits) for a positive integer num."""
    if num == 0:
        return float("-inf")
    shift = max(num.bit_length() - 64, 0)
    return math.log2(num >> shift) + shift - den_bits


def print_tails():
    for halves, _, apt in rows():
        for a, (c, tail) in zip(ALPHA_EXPONENTS, apt):
            if halves % 2:
                lg = float(tail.ln() / decimal.Decimal(2).ln()) if tail else float("-inf")
            else:
                lg = log2_fraction(tail, halves // 2 * WINDOW)
            print("H=%.1f alpha=2^-%d: APT C=%d, P(X >= C) = 2^%.3f"
                  % (halves / 2, a, c, lg), file=sys.stderr)


def table_in(path):
    with open(path, encoding="utf-8") as f:
        src = f.read()
    m = re.search(r"^static const struct health_cutoffs cutoff_table\[\] = \{\n"
                  r".*?^\};\n", src, re.S | re.M)
    return m.group(0) if m else None


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--check", metavar="HEALTH_C",
                    help="compare with the table in this file")
    ap.add_argument("--verbose", action="store_true",
                    help="print the achieved APT tail probabilities")
    args = ap.parse_args()
    want = table_text()
    if args.verbose:
        print_tails()
    if not args.check:
        sys.stdout.write(want)
        return 0
    have = table_in(args.check)
    if have != want:
        sys.stdout.write("%s: cutoff_table differs; expected:\n%s"
                         % (args.check, want))
        return 1
    print("%s: cutoff_table matches" % args.check)
    return 0


if __name__ == "__main__":
    sys.exit(main())
