#!/usr/bin/env python3
"""Regenerate the AIS-31 test vectors in tests/data/ais31-*.

Every vector is deterministic (SHAKE-256 streams from fixed labels, or a
fixed LCG), so running this again rewrites identical files.

File format (read by tests/test_ais31.c):
    '#'-comment header lines, each 'key: value' or free text;
    a line '--';
    then the raw payload bytes.
Header keys:
    procedure: A or B           which procedure the payload is fed to
    start: T0|T1|T6a|T6b|T7a|T7b|T8|run
                                the step the payload begins at; the test
                                feeds bytes of ais31-pass.bin until the run
                                reaches that step ('run' = at once)
    repeat: N                   cycle the payload to N bytes (optional)
    expect: pass | T<x> ...     the basic tests that must fail, all of them
After the payload, the test keeps feeding ais31-pass.bin until the
procedure completes, so only the targeted step sees the bad data.

Usage: scripts/make-ais31-vectors.py [output-dir]   (default tests/data)
"""
import hashlib
import os
import sys


def shake(label, n):
    return hashlib.shake_256(("havege-rngd ais31 " + label).encode()).digest(n)


def bits_to_bytes(bits):
    out = bytearray()
    for i in range(0, len(bits) - len(bits) % 8, 8):
        v = 0
        for b in bits[i:i + 8]:
            v = v << 1 | b
        out.append(v)
    return bytes(out)


def uniform16(label, n):
    raw = shake(label, 2 * n)
    return [raw[2 * i] << 8 | raw[2 * i + 1] for i in range(n)]


def biased(nbytes, p_one):
    limit = int(p_one * 65536)
    return bits_to_bytes([1 if u < limit else 0
                          for u in uniform16("biased", 8 * nbytes)])


def sticky_markov(nbytes, p_same):
    limit = int(p_same * 65536)
    bit, bits = 0, []
    for u in uniform16("markov", 8 * nbytes):
        bit = bit if u < limit else 1 - bit
        bits.append(bit)
    return bits_to_bytes(bits)


def lcg_low_bytes(n, seed=1):
    # Numerical Recipes' LCG mod 2^32: its low byte has period 256.
    x, out = seed, bytearray()
    for _ in range(n):
        x = (1664525 * x + 1013904223) & 0xffffffff
        out.append(x & 0xff)
    return bytes(out)


VECTORS = [
    ("ais31-pass.bin", [
        "Good data: SHAKE-256 output, enough for a whole procedure A",
        "(1035716 bytes) and a whole procedure B (about 873 KB).",
        "Both procedures must pass on it; the other vectors' tests also",
        "feed it around their payload.",
        "procedure: AB", "start: run", "expect: pass"],
     lambda: shake("pass", 1100000)),
    ("ais31-constant.bin", [
        "A stuck source: one block of 2500 zero bytes as block 0 of",
        "procedure A.  Ones = 0 (T1), poker X = 75000 (T2), one run of",
        "20000 zeros (T3 and T4), Z_tau = 0 for every tau (T5): all five",
        "block tests must fail, each once, on block 0; T0 saw good data.",
        "procedure: A", "start: T1", "expect: T1 T2 T3 T4 T5"],
     lambda: bytes(2500)),
    ("ais31-biased.bin", [
        "Biased bits: independent, P(1) = 0.53, for the 100000 bits of",
        "T6a.  Expected ones 53000 (sd 158) against the AIS-31 bound",
        "47500 < ones < 52500, so T6a must fail; the later steps of",
        "procedure B get good data and pass.",
        "procedure: B", "start: T6a", "expect: T6a"],
     lambda: biased(12500, 0.53)),
    ("ais31-markov.bin", [
        "A sticky first-order Markov source: each bit repeats the one",
        "before with probability 0.6.  P(1|0) - P(1|1) = -0.2 against",
        "the T6b bound |P(1|0) - P(1|1)| < 0.02, so T6b must fail.  The",
        "proportion of ones stays 1/2, and T7 (which compares the next",
        "bit after x0 with after y0) sees no difference in such a chain.",
        "procedure: B", "start: T6b", "expect: T6b"],
     lambda: sticky_markov(56000, 0.6)),
    ("ais31-period.bin", [
        "A short period: 100 bytes repeated for all of T8's 258560",
        "words.  Every distance Coron's test sees is at most 100, so",
        "f_C <= g(100) = 7.47 < 7.976 and T8 must fail; the steps before",
        "saw good data.",
        "procedure: B", "start: T8", "repeat: 258560", "expect: T8"],
     lambda: shake("period", 100)),
    ("ais31-lcg.bin", [
        "An LCG's low bits: the low byte of x' = 1664525 x + 1013904223",
        "mod 2^32 has period 256, so T0's 65536 48-bit strings take only",
        "128 values: T0 must fail (65408 duplicates).  Its bit counts are",
        "exactly balanced, and the 257 blocks get good data.",
        "procedure: A", "start: T0", "repeat: 393216", "expect: T0"],
     lambda: lcg_low_bytes(256)),
]


def main():
    outdir = sys.argv[1] if len(sys.argv) > 1 else "tests/data"
    os.makedirs(outdir, exist_ok=True)
    for name, header, make in VECTORS:
        payload = make()
        with open(os.path.join(outdir, name), "wb") as f:
            f.write(b"# havege-rngd AIS-31 test vector; regenerate with\n")
            f.write(b"# scripts/make-ais31-vectors.py\n")
            for line in header:
                f.write(("# " + line + "\n").encode())
            f.write(b"--\n")
            f.write(payload)


if __name__ == "__main__":
    main()
