#!/usr/bin/env python3
"""Recompute the SP 800-90B health-test cut-offs of src/health.c.

Prints cutoff_table in the C syntax used there, so a reviewer can diff:

    scripts/health-cutoffs.py                      # print the table
    scripts/health-cutoffs.py --check src/health.c # compare, exit 1 if not equal
    scripts/health-cutoffs.py --verbose            # also the achieved tails

Exact arithmetic only (Python integers), standard library only.

RCT (SP 800-90B 4.4.1):  C = 1 + ceil(a / H) for alpha = 2^-a.
APT (SP 800-90B 4.4.2):  C = 1 + CRITBINOM(W, 2^-H, 1 - alpha), W = 512,
  CRITBINOM(n, p, q) = least k with P(X <= k) >= q, X ~ Binomial(n, p);
  equivalently C = least c with P(X >= c) <= alpha.
With p = 2^-H every probability is an integer over 2^(H W):
  P(X = j) = binom(W, j) (2^H - 1)^(W - j) / 2^(H W),
  alpha    = 2^(H W - a) / 2^(H W),
so the comparison with alpha is between integers and involves no rounding.
"""

import argparse
import math
import re
import sys

WINDOW = 512                     # SP 800-90B 4.4.2, non-binary samples
ALPHA_EXPONENTS = (30, 60)       # intermittent, permanent: alpha = 2^-a
ENTROPY_BITS = range(1, 7)       # the rows of the table


def rct_cutoff(h, a):
    """1 + ceil(a / h), in integers."""
    return 1 + (a + h - 1) // h


def apt_cutoff(h, a, w=WINDOW):
    """Least c with P(X >= c) <= 2^-a, X ~ Binomial(w, 2^-h).

    Returns (c, P(X >= c) as a fraction's numerator over 2^(h w)).
    """
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
    for h in ENTROPY_BITS:
        rct = [rct_cutoff(h, a) for a in ALPHA_EXPONENTS]
        apt = [apt_cutoff(h, a) for a in ALPHA_EXPONENTS]
        yield h, rct, apt


def table_text():
    out = ["static const struct health_cutoffs cutoff_table[] = {",
           "\t/* H   RCT  RCT perm  APT  APT perm */"]
    for h, rct, apt in rows():
        out.append("\t{ %d,  %3d, %3d,       %3d, %3d }," %
                   (h, rct[0], rct[1], apt[0][0], apt[1][0]))
    out.append("};")
    return "\n".join(out) + "\n"


def log2_fraction(num, den_bits):
    """log2(num / 2^den_bits) for a positive integer num."""
    if num == 0:
        return float("-inf")
    shift = max(num.bit_length() - 64, 0)
    return math.log2(num >> shift) + shift - den_bits


def print_tails():
    for h, _, apt in rows():
        for a, (c, tail) in zip(ALPHA_EXPONENTS, apt):
            print("H=%d alpha=2^-%d: APT C=%d, P(X >= C) = 2^%.3f"
                  % (h, a, c, log2_fraction(tail, h * WINDOW)),
                  file=sys.stderr)


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
