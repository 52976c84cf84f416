#!/usr/bin/env python3
"""Non-IID min-entropy estimates of NIST SP 800-90B (January 2018), 6.3.

Reads a file of raw noise samples, one sample per byte, and prints the ten
estimates of section 6.3 and their minimum, the assessed min-entropy per
sample:

    scripts/sp800-90b.py samples.bin            # all 8 bits of each byte
    scripts/sp800-90b.py -b 4 samples.bin       # only the low 4 bits
    scripts/sp800-90b.py --limit 100000 FILE    # the first 100000 samples
    scripts/sp800-90b.py --skip lz78y FILE      # leave an estimator out
    scripts/sp800-90b.py --self-test            # the checks below; exit 0/1

How the estimators are applied (SP 800-90B 6.2 and 3.1.3):
  - 6.3.2 Collision, 6.3.3 Markov and 6.3.4 Compression are only applied
    to binary inputs (6.2).
  - When the samples are not binary (-b > 1), the estimators that apply
    are run on the samples themselves, giving H_original, and all ten are
    run on the bitstring made by writing every sample as its n-bit binary
    number, most significant bit first, one after another, giving
    H_bitstring per bit.  The assessed value is (3.1.3)
        H = min(H_original, n * H_bitstring).
  - With -b 1 the samples are binary and all ten run once on them.
The predictor estimates (6.3.7 - 6.3.10) end in
    -log2(max(P'_global, P_local, 1/k)),
k being the number of possible sample values (2^n here, 2 for bits).

Written from the text of the standard, not from any implementation.  Two
points the text leaves to the reader are settled here and marked "reading"
where they are used: the value picked when two outcomes tie for the largest
count in a MultiMMC or LZ78Y context (the larger value), and the limits on
the t-tuple and LRS searches for data so repetitive that their lengths run
into the thousands (the search stops, and the output says so).

Everything is pure Python, standard library only.  The slow parts work on
bytes objects (one symbol per byte) with C-level operations where they can:
the predictors that keep a scoreboard count whole blocks of matches with one
XOR and bytes.count(), and step sample by sample only through the blocks
where the lead could change hands (see scoreboard_run()).  The estimators run
in parallel worker processes (-j, default the number of CPUs).
"""

import argparse
import collections
import itertools
import math
import multiprocessing
import os
import random
import sys
import tempfile
import time

Z99 = 2.576                     # 99% two-sided normal quantile, used throughout 6.3

# 6.3.4 Compression
COMP_BLOCK = 6                  # b
COMP_DICT = 1000                # d
COMP_C = 0.5907                 # c, the sigma correction

# 6.3.5 t-Tuple and 6.3.6 LRS
TUPLE_CUTOFF = 35               # "at least 35 occurrences"
TUPLE_MAX_LEN = 1024            # reading: stop the t-tuple search here
LRS_BUDGET = 150_000_000        # reading: positions the LRS refinement may visit

# 6.3.7 MultiMCW
MCW_WINDOWS = (63, 255, 1023, 4095)

# 6.3.8 Lag
LAG_D = 128

# 6.3.9 MultiMMC
MMC_D = 16
MMC_MAX_ENTRIES = 100_000

# 6.3.10 LZ78Y
LZ_B = 16
LZ_MAX_DICT = 65_536

ESTIMATORS = ("mcv", "collision", "markov", "compression", "t-tuple", "lrs",
              "multi-mcw", "lag", "multi-mmc", "lz78y")
SECTION = {"mcv": "6.3.1", "collision": "6.3.2", "markov": "6.3.3",
           "compression": "6.3.4", "t-tuple": "6.3.5", "lrs": "6.3.6",
           "multi-mcw": "6.3.7", "lag": "6.3.8", "multi-mmc": "6.3.9",
           "lz78y": "6.3.10"}
BINARY_ONLY = ("collision", "markov", "compression")


class Result:
    """One estimate: h in bits per symbol of the sequence it ran on (None if
    it could not be computed), and a short note of its statistics."""

    def __init__(self, h, note=""):
        self.h = h
        self.note = note


# ---------------------------------------------------------------------------
# Shared arithmetic

def upper_bound(p, n):
    """The 99% upper confidence bound used by 6.3.1, 6.3.5 and 6.3.6."""
    return min(1.0, p + Z99 * math.sqrt(p * (1.0 - p) / (n - 1)))


def neg_log2(p):
    return max(0.0, -math.log2(p)) if p > 0 else math.inf


def bisect(f, target, lo, hi, decreasing, iterations=200):
    """Binary search for f(x) = target on [lo, hi], f monotone."""
    for _ in range(iterations):
        mid = (lo + hi) / 2
        if mid in (lo, hi):
            break
        above = f(mid) > target
        if above == decreasing:
            lo = mid
        else:
            hi = mid
    return (lo + hi) / 2


def longest_run(flags):
    """Length of the longest run of 1 bytes in a bytes-like of 0/1 values.
    Each probe is one substring search done in C."""
    if 1 not in flags:
        return 0
    lo, hi = 1, 2
    while b"\x01" * hi in flags:
        lo, hi = hi, hi * 2
    while hi - lo > 1:          # invariant: run of lo exists, of hi not
        mid = (lo + hi) // 2
        if b"\x01" * mid in flags:
            lo = mid
        else:
            hi = mid
    return lo


def p_local(n, r):
    """6.3.7 step 10 (and the same step of 6.3.8 - 6.3.10): the P_local for
    which the probability of no run of r correct predictions in n trials is
    0.99, with x = x_10 of x_j = 1 + q p^r x_{j-1}^(r+1), x_0 = 1:
        0.99 = (1 - p x) / ((r + 1 - r x) q) * 1 / x^(n+1).
    Solved in logarithms, as the power overflows for large n."""
    def log_prob(p):
        q = 1.0 - p
        if q <= 0:
            return -math.inf
        x = 1.0
        for _ in range(10):
            x = 1.0 + q * p ** r * x ** (r + 1)
        num = 1.0 - p * x
        den = (r + 1 - r * x) * q
        if num <= 0 or den <= 0:
            return -math.inf
        return math.log(num / den) - (n + 1) * math.log(x)

    return bisect(log_prob, math.log(0.99), 0.0, 1.0, decreasing=True)


def prediction_estimate(c, n, r, k):
    """The common ending of 6.3.7 - 6.3.10 from C correct predictions of N,
    r = 1 + the longest run of correct ones, k possible values."""
    if c == 0:
        pg = 1.0 - 0.01 ** (1.0 / n)
    else:
        pa = c / n
        pg = min(1.0, pa + Z99 * math.sqrt(pa * (1.0 - pa) / (n - 1)))
    pl = p_local(n, r)
    h = neg_log2(max(pg, pl, 1.0 / k))
    return Result(h, "N=%d C=%d P'glob=%.6f r=%d Ploc=%.6f" % (n, c, pg, r, pl))


def finish_prediction(correct, k):
    n = len(correct)
    if n < 2:
        return Result(None, "too few samples")
    return prediction_estimate(correct.count(1), n, longest_run(correct) + 1, k)


# ---------------------------------------------------------------------------
# 6.3.1 Most Common Value

def mcv_bounds(seq):
    """p-hat and its 99% lower and upper bounds."""
    n = len(seq)
    p = max(collections.Counter(seq).values()) / n
    half = Z99 * math.sqrt(p * (1.0 - p) / (n - 1))
    return p, max(0.0, p - half), min(1.0, p + half)


def est_mcv(seq, k):
    p, _, pu = mcv_bounds(seq)
    return Result(neg_log2(pu), "p-hat=%.6f p_u=%.6f" % (p, pu))


# ---------------------------------------------------------------------------
# 6.3.2 Collision (binary only)

def collision_mean(p):
    """Expected time to the first collision for a binary source with
    P(most likely) = p, q = 1 - p (6.3.2 step 7):
        p q^-2 (1 + (1/p - 1/q)/2) F(q) - p q^-1 (1/p - 1/q)/2,
    F(1/z) = Gamma(3, z) z^-3 e^z.  For integer a, Gamma(a, z) is
    (a-1)! e^-z sum_{j<a} z^j/j!, so Gamma(3, z) z^-3 e^z is
    (2 + 2z + z^2) / z^3, i.e. F(q) = 2q^3 + 2q^2 + q, free of e^(1/q)."""
    q = 1.0 - p
    f = q * (1.0 + q * (2.0 + 2.0 * q))
    half = (1.0 / p - 1.0 / q) / 2.0
    return p / (q * q) * (1.0 + half) * f - p / q * half


def est_collision(bits, k):
    n, i, n2, n3 = len(bits), 0, 0, 0
    # Step 2: from index, the first repeat comes at the 2nd sample when the
    # first two are equal, else at the 3rd (only two values exist).
    while i + 1 < n:
        if bits[i] == bits[i + 1]:
            n2 += 1
            i += 2
        elif i + 2 < n:
            n3 += 1
            i += 3
        else:
            break
    v = n2 + n3
    if v < 2:
        return Result(None, "too few samples")
    mean = (2 * n2 + 3 * n3) / v
    var = (n2 * (2 - mean) ** 2 + n3 * (3 - mean) ** 2) / (v - 1)
    xbar = mean - Z99 * math.sqrt(var) / math.sqrt(v)        # step 6
    if xbar >= collision_mean(0.5):                           # no solution
        return Result(1.0, "v=%d X'=%.6f (no solution: 1)" % (v, xbar))
    p = bisect(collision_mean, xbar, 0.5, 1.0, decreasing=True)
    return Result(neg_log2(p), "v=%d X'=%.6f p=%.6f" % (v, xbar, p))


# ---------------------------------------------------------------------------
# 6.3.3 Markov (binary only)

def est_markov(bits, k):
    n = len(bits)
    pairs = collections.Counter(zip(bits, bits[1:]))
    p1 = bits.count(1) / n
    p0 = 1.0 - p1

    def trans(a, b):
        out = pairs[(a, 0)] + pairs[(a, 1)]
        return pairs[(a, b)] / out if out else 0.0

    p00, p01, p10, p11 = trans(0, 0), trans(0, 1), trans(1, 0), trans(1, 1)

    def lg(x):
        return math.log2(x) if x > 0 else -math.inf

    # Step 3: the six most likely 128-bit sequences (in log2).
    cands = (lg(p0) + 127 * lg(p00),
             lg(p0) + 64 * lg(p01) + 63 * lg(p10),
             lg(p0) + lg(p01) + 126 * lg(p11),
             lg(p1) + lg(p10) + 126 * lg(p00),
             lg(p1) + 64 * lg(p10) + 63 * lg(p01),
             lg(p1) + 127 * lg(p11))
    lpmax = max(cands)
    h = min(-lpmax / 128.0, 1.0)
    return Result(h, "P0=%.4f P00=%.4f P01=%.4f P10=%.4f P11=%.4f" %
                  (p0, p00, p01, p10, p11))


# ---------------------------------------------------------------------------
# 6.3.4 Compression (binary only)

def compression_g(z, nblocks, d, lg, v):
    """G(z) = 1/v sum_{t=d+1}^{nb} sum_{u=1}^{t} log2(u) F(z, t, u), with
    F = z^2 (1-z)^(u-1) for u < t and z (1-z)^(t-1) for u = t.  Swapping
    the sums, log2(u) z^2 (1-z)^(u-1) occurs for the nb - max(u, d) values
    of t above both u and d; that makes it one pass over u.  The terms fall
    geometrically, so the pass stops once they cannot matter."""
    if z <= 0.0:
        return 0.0
    r = 1.0 - z
    zz = z * z
    total, pw = 0.0, 1.0
    for u in range(1, nblocks + 1):
        lu = lg[u]
        term = lu * zz * (nblocks - (u if u > d else d)) if u < nblocks else 0.0
        if u > d:
            term += lu * z
        total += term * pw
        pw *= r
        if pw < 1e-18:
            break
    return total / v


def est_compression(bits, k):
    b, d = COMP_BLOCK, COMP_DICT
    nb = len(bits) // b
    if nb <= d + 1:
        return Result(None, "too few samples")
    blocks = [0] * (nb + 1)             # 1-indexed as in the text
    for i in range(nb):
        x = 0
        for bit in bits[i * b:(i + 1) * b]:
            x = (x << 1) | bit
        blocks[i + 1] = x
    dic = [0] * (1 << b)
    for i in range(1, d + 1):
        dic[blocks[i]] = i
    v = nb - d
    lg = [0.0] + [math.log2(u) for u in range(1, nb + 1)]
    s = s2 = 0.0
    for i in range(d + 1, nb + 1):
        last = dic[blocks[i]]
        x = lg[i - last] if last else lg[i]
        dic[blocks[i]] = i
        s += x
        s2 += x * x
    mean = s / v
    sigma = COMP_C * math.sqrt(max(0.0, s2 / (v - 1) - mean * mean))
    xbar = mean - Z99 * sigma / math.sqrt(v)
    alph = (1 << b) - 1

    def expect(p):
        return (compression_g(p, nb, d, lg, v) +
                alph * compression_g((1.0 - p) / alph, nb, d, lg, v))

    lo = 2.0 ** -b
    if xbar >= expect(lo):
        return Result(1.0, "X'=%.5f (no solution: 1)" % xbar)
    p = bisect(expect, xbar, lo, 1.0, decreasing=True, iterations=60)
    return Result(neg_log2(p) / b, "v=%d X'=%.5f p=%.6f" % (v, xbar, p))


# ---------------------------------------------------------------------------
# 6.3.5 t-Tuple and 6.3.6 LRS

def tuple_counter(seq, t):
    return collections.Counter(seq[i:i + t] for i in range(len(seq) - t + 1))


def tuple_search(seq):
    """Q[t] (count of the most common t-tuple) for t = 1 .. tstar, tstar the
    largest t with Q[t] >= 35; u = tstar + 1 is where LRS starts (6.3.6
    step 1), as Q never grows with t.  Counting every length directly costs
    a pass each; instead the boundary is found with a few passes (doubling,
    then bisection) and the shorter lengths are derived from the counts at
    length u: the t-tuples are the t-prefixes of the (t+1)-tuples plus the
    last t samples.  Returns (Q, tstar, u or None if capped, capped)."""
    n = len(seq)
    if n < TUPLE_CUTOFF:
        return {}, 0, None, False
    distinct = len(set(seq))
    t = max(1, int(math.log(n / TUPLE_CUTOFF) / math.log(max(distinct, 2))))
    t = min(t, n - TUPLE_CUTOFF + 1, TUPLE_MAX_LEN)
    lo, hi, capped = 0, None, False       # Q[lo] >= 35 > Q[hi]
    while hi is None:
        counts = tuple_counter(seq, t)
        if max(counts.values()) < TUPLE_CUTOFF:
            hi, hi_counts = t, counts
            break
        lo, lo_counts = t, counts
        grow = min(2 * t, TUPLE_MAX_LEN, n - TUPLE_CUTOFF + 1)
        if grow == t:
            capped = True
            break
        t = grow
    while not capped and hi - lo > 1:
        mid = (lo + hi) // 2
        counts = tuple_counter(seq, mid)
        if max(counts.values()) >= TUPLE_CUTOFF:
            lo, lo_counts = mid, counts
        else:
            hi, hi_counts = mid, counts
    start, cur = (lo, lo_counts) if capped else (hi, hi_counts)
    q = {start: max(cur.values())}
    for t in range(start - 1, 0, -1):
        nxt = collections.defaultdict(int)
        for key, c in cur.items():
            nxt[key[:-1]] += c
        nxt[seq[n - t:]] += 1
        q[t] = max(nxt.values())
        cur = nxt
    return q, lo, (None if capped else hi), capped


def est_tuple_and_lrs(seq, k, want=("t-tuple", "lrs")):
    n = len(seq)
    q, tstar, u, capped = tuple_search(seq)
    out = {}
    if "t-tuple" in want:
        if tstar < 1:
            out["t-tuple"] = Result(None, "no symbol occurs 35 times")
        else:
            pmax, at = max(((q[i] / (n - i + 1)) ** (1.0 / i), i)
                           for i in range(1, tstar + 1))
            pu = upper_bound(pmax, n)
            note = "t=%d p-hat=%.6f (at %d) p_u=%.6f" % (tstar, pmax, at, pu)
            if capped:
                note += " [search stopped at t=%d]" % tstar
            out["t-tuple"] = Result(neg_log2(pu), note)
    if "lrs" in want:
        if u is None:
            out["lrs"] = Result(None, "u beyond t=%d, not computed" % tstar)
        else:
            out["lrs"] = est_lrs(seq, u)
    return out


def est_lrs(seq, u):
    """6.3.6 from W = u up to v, the longest repeated length.  The positions
    whose W-tuple occurs again are refined one symbol at a time: a repeated
    (W+1)-tuple starts where a repeated W-tuple does."""
    n = len(seq)
    groups = collections.defaultdict(list)
    for i in range(n - u + 1):
        groups[seq[i:i + u]].append(i)
    groups = [g for g in groups.values() if len(g) > 1]
    w, pbest, wbest, visited, partial = u, 0.0, u, 0, False
    while groups:
        pairs = sum(len(g) * (len(g) - 1) // 2 for g in groups)
        m = n - w + 1
        pw = (pairs / (m * (m - 1) // 2)) ** (1.0 / w)
        if pw > pbest:
            pbest, wbest = pw, w
        if pbest >= 1.0:
            break               # the maximum cannot grow any further
        visited += sum(len(g) for g in groups)
        if visited > LRS_BUDGET:
            partial = True
            break
        nxt = []
        for g in groups:
            sub = {}
            for p in g:
                if p + w < n:
                    sub.setdefault(seq[p + w], []).append(p)
            nxt.extend(s for s in sub.values() if len(s) > 1)
        groups = nxt
        w += 1
    v = w - 1 if not groups else w
    if pbest == 0.0:
        return Result(None, "u=%d > v: no repeated %d-tuple" % (u, u))
    pu = upper_bound(pbest, n)
    note = "u=%d v=%d p-hat=%.6f (at W=%d) p_u=%.6f" % (u, v, pbest, wbest, pu)
    if partial:
        note += " [stopped at W=%d]" % w
    return Result(neg_log2(pu), note)


# ---------------------------------------------------------------------------
# The scoreboard shared by 6.3.7, 6.3.8 and 6.3.9
#
# Each of D subpredictors predicts every sample; the prediction is the
# winner's; then every subpredictor that was right gains a point and, in
# order, takes the lead if its score reaches the leader's:
#     if scoreboard[j] >= scoreboard[winner]: winner = j
# By induction the winner always holds the highest score (a point raises a
# score by one, and whoever reaches the top takes the lead).  So over a
# block of T samples a subpredictor can only take the lead if its score plus
# its points in the block reach the leader's score at the block start; the
# points in a block are counted at C speed as zero bytes of an XOR.  Only
# the blocks where someone else could take the lead are stepped through.
#
# A subpredictor is (buf, shift): its prediction for sample i is
# buf[i - shift].  The lag predictor of lag d is (seq, d); the others keep a
# buffer of predictions in which Null is stored as seq[i] ^ 1, a value that
# can never be right.

ZERO_TO_ONE = bytes([1] + [0] * 255)


def scoreboard_run(seq, subs, start, block=128):
    n, nsub = len(seq), len(subs)
    correct = bytearray(n - start)
    score = [0] * nsub
    winner = 0
    first_full = max(start, max(sh for _, sh in subs))
    for i in range(start, min(first_full, n)):      # some predictions Null
        si = seq[i]
        buf, sh = subs[winner]
        correct[i - start] = i >= sh and buf[i - sh] == si
        for j in range(nsub):
            buf, sh = subs[j]
            if i >= sh and buf[i - sh] == si:
                score[j] += 1
                if score[j] >= score[winner]:
                    winner = j
    for a in range(max(first_full, start), n, block):
        b = min(a + block, n)
        m = b - a
        actual = int.from_bytes(seq[a:b], "big")
        diffs = [(int.from_bytes(buf[a - sh:b - sh], "big") ^ actual).to_bytes(m, "big")
                 for buf, sh in subs]
        gain = [dx.count(0) for dx in diffs]
        lead = score[winner]
        cands = [j for j in range(nsub) if score[j] + gain[j] >= lead]
        if len(cands) == 1:
            correct[a - start:b - start] = diffs[winner].translate(ZERO_TO_ONE)
        else:
            cand_subs = [(j, subs[j][0], subs[j][1]) for j in cands]
            for i in range(a, b):
                si = seq[i]
                buf, sh = subs[winner]
                if buf[i - sh] == si:
                    correct[i - start] = 1
                for j, buf, sh in cand_subs:
                    if buf[i - sh] == si:
                        score[j] += 1
                        if score[j] >= score[winner]:
                            winner = j
            for j in range(nsub):       # the stepped ones are up to date
                if j not in cands:
                    score[j] += gain[j]
            continue
        for j in range(nsub):
            score[j] += gain[j]
    return correct


# ---------------------------------------------------------------------------
# 6.3.7 Multi Most Common in Window

def mcw_binary(seq, w):
    """Most common bit of the w before each sample; w is odd, so no ties."""
    n = len(seq)
    pre = [0] + list(itertools.accumulate(seq))
    half = w // 2
    out = bytearray(seq[i] ^ 1 for i in range(min(w, n)))
    out += bytes(1 if pre[i] - pre[i - w] > half else 0 for i in range(w, n))
    return out


def mcw_general(seq, w):
    """Most common value of the w before each sample; ties go to the value
    seen most recently (6.3.7 step 3a).  Counts per value, and the values
    grouped by count, so the top group is at hand at every step."""
    n = len(seq)
    out = bytearray(n)
    cnt = [0] * 256
    last = [-1] * 256
    bucket = [set() for _ in range(w + 2)]
    bucket[0].update(range(256))
    top = 0
    for i in range(n):
        if i >= w:
            prev = seq[i - 1]
            if cnt[prev] == top:            # the most recent of all
                out[i] = prev
            else:
                out[i] = max(bucket[top], key=last.__getitem__)
        else:
            out[i] = seq[i] ^ 1
        x = seq[i]
        c = cnt[x]
        bucket[c].discard(x)
        bucket[c + 1].add(x)
        cnt[x] = c + 1
        last[x] = i
        if c + 1 > top:
            top = c + 1
        if i >= w:
            y = seq[i - w]
            c = cnt[y]
            bucket[c].discard(y)
            bucket[c - 1].add(y)
            cnt[y] = c - 1
            if c == top and not bucket[c]:
                top = c - 1
    return out


def est_multi_mcw(seq, k):
    n = len(seq)
    if n <= MCW_WINDOWS[0] + 1:
        return Result(None, "too few samples")
    make = mcw_binary if k == 2 else mcw_general
    subs = [(make(seq, w), 0) for w in MCW_WINDOWS]
    return finish_prediction(scoreboard_run(seq, subs, MCW_WINDOWS[0]), k)


# ---------------------------------------------------------------------------
# 6.3.8 Lag

def est_lag(seq, k):
    if len(seq) < 3:
        return Result(None, "too few samples")
    subs = [(seq, d) for d in range(1, LAG_D + 1)]
    return finish_prediction(scoreboard_run(seq, subs, 1), k)


# ---------------------------------------------------------------------------
# 6.3.9 MultiMMC
#
# Model d counts the transitions (s[j-d] .. s[j-1]) -> s[j] and predicts the
# value with the largest count after the d latest samples.  Contexts are
# integers (symbols of `bits` bits, oldest highest).  For each context the
# best (count, value) is kept as one integer count << bits | value, so
# max() picks the larger count and, on a tie, the larger value (reading:
# the text asks for the most frequent value and names no tie rule).

def mmc_model(seq, d, bits):
    n = len(seq)
    out = bytearray(x ^ 1 for x in seq)             # Null everywhere
    mask = (1 << (bits * d)) - 1
    counts = {}
    best = {}
    entries = 0
    ctx = 0
    for j in range(n - 1):
        y = seq[j]
        if j >= d:                                  # train ctx -> y
            key = (ctx << bits) | y
            c = counts.get(key)
            if c is not None:
                c += 1
                counts[key] = c
            elif entries < MMC_MAX_ENTRIES:
                entries += 1
                c = counts[key] = 1
            if c is not None:
                e = (c << bits) | y
                if e > best.get(ctx, -1):
                    best[ctx] = e
        ctx = ((ctx << bits) | y) & mask
        if j + 1 >= d:                              # predict s[j+1]
            e = best.get(ctx)
            if e is not None:
                out[j + 1] = e & ((1 << bits) - 1)
    return out


def est_multi_mmc(seq, k, bits):
    if len(seq) < 3:
        return Result(None, "too few samples")
    subs = [(mmc_model(seq, d, bits), 0) for d in range(1, MMC_D + 1)]
    return finish_prediction(scoreboard_run(seq, subs, 2), k)


# ---------------------------------------------------------------------------
# 6.3.10 LZ78Y
#
# One dictionary of contexts of length 1..B (at most 65536 contexts in all),
# each with counts of the value that followed.  The prediction comes from
# the longest context whose best count is strictly larger than that of every
# longer one.  Per length j: best[j][ctx] = count << bits | value as in
# MultiMMC (reading: ties to the larger value).

def est_lz78y(seq, k, bits):
    n = len(seq)
    if n < LZ_B + 2:
        return Result(None, "too few samples")
    vmask = (1 << bits) - 1
    masks = [(1 << (bits * j)) - 1 for j in range(LZ_B + 1)]
    counts = [dict() for _ in range(LZ_B + 1)]
    best = [dict() for _ in range(LZ_B + 1)]
    size = 0
    correct = bytearray(n - LZ_B - 1)
    hist = 0                    # the latest B + 1 samples, newest lowest
    for i in range(LZ_B + 1):
        hist = (hist << bits) | seq[i]
    big = masks[LZ_B] << bits | vmask
    for i in range(LZ_B + 1, n):
        y = seq[i - 1]
        older = hist >> bits        # ends at s[i-2]
        for j in range(LZ_B, 0, -1):
            ctx = older & masks[j]
            bj = best[j]
            if ctx not in bj:
                if size >= LZ_MAX_DICT:
                    continue
                size += 1
            key = (ctx << bits) | y
            cj = counts[j]
            c = cj.get(key, 0) + 1
            cj[key] = c
            e = (c << bits) | y
            if e > bj.get(ctx, -1):
                bj[ctx] = e
        maxcount, pred = 0, -1
        for j in range(LZ_B, 0, -1):
            e = best[j].get(hist & masks[j])
            if e is not None and (e >> bits) > maxcount:
                maxcount, pred = e >> bits, e & vmask
        if pred == seq[i]:
            correct[i - LZ_B - 1] = 1
        hist = ((hist << bits) | seq[i]) & big
    return finish_prediction(correct, k)


# ---------------------------------------------------------------------------
# Running the battery

def to_bits(seq, nbits):
    """The bitstring of 3.1.3: each sample as nbits binary digits, most
    significant first, one byte (0 or 1) per bit."""
    table = [bytes((x >> (nbits - 1 - i)) & 1 for i in range(nbits))
             for x in range(256)]
    return b"".join(table[x] for x in seq)


_DATA = {}                      # inherited by the forked workers


def run_task(task):
    name, which = task
    seq, k, bits = _DATA[which]
    t0 = time.time()
    if name == "tuple":
        res = est_tuple_and_lrs(seq, k, _DATA["want_tuple"])
    elif name == "mcv":
        res = {name: est_mcv(seq, k)}
    elif name == "collision":
        res = {name: est_collision(seq, k)}
    elif name == "markov":
        res = {name: est_markov(seq, k)}
    elif name == "compression":
        res = {name: est_compression(seq, k)}
    elif name == "multi-mcw":
        res = {name: est_multi_mcw(seq, k)}
    elif name == "lag":
        res = {name: est_lag(seq, k)}
    elif name == "multi-mmc":
        res = {name: est_multi_mmc(seq, k, bits)}
    elif name == "lz78y":
        res = {name: est_lz78y(seq, k, bits)}
    else:
        raise ValueError(name)
    return which, res, time.time() - t0, name


# Rough cost order, slowest first, so the pool stays busy to the end.
COST_ORDER = ("lz78y", "multi-mmc", "tuple", "lag", "multi-mcw",
              "compression", "markov", "collision", "mcv")


def assess(samples, nbits, skip=(), jobs=1, verbose=False):
    """Run the battery; returns (per-estimator results, assessed value)."""
    seq = bytes(x & ((1 << nbits) - 1) for x in samples) if nbits < 8 else bytes(samples)
    _DATA.clear()
    _DATA["orig"] = (seq, 1 << nbits, nbits)
    tasks = []
    wanted = [e for e in ESTIMATORS if e not in skip]
    _DATA["want_tuple"] = tuple(e for e in ("t-tuple", "lrs") if e in wanted)
    views = ["orig"]
    if nbits > 1:
        _DATA["bits"] = (to_bits(seq, nbits), 2, 1)
        views.append("bits")
    for which in views:
        k = _DATA[which][1]
        for name in wanted:
            if name in BINARY_ONLY and k != 2:
                continue
            if name in ("t-tuple", "lrs"):
                name = "tuple"
            if (name, which) not in tasks:
                tasks.append((name, which))
    tasks.sort(key=lambda t: COST_ORDER.index(t[0]))
    results = {v: {} for v in views}
    timing = {}
    if jobs > 1 and len(tasks) > 1:
        ctx = multiprocessing.get_context("fork")
        with ctx.Pool(min(jobs, len(tasks))) as pool:
            outs = list(pool.imap_unordered(run_task, tasks))
    else:
        outs = [run_task(t) for t in tasks]
    for which, res, secs, name in outs:
        results[which].update(res)
        timing[(name, which)] = secs
    _DATA.clear()
    return results, timing


def summarize(results, nbits):
    """H_original, H_bitstring and the assessed value (3.1.3)."""
    def low(d):
        hs = [r.h for r in d.values() if r.h is not None]
        return min(hs) if hs else None
    h_orig = low(results["orig"])
    h_bits = low(results["bits"]) if "bits" in results else None
    cands = [h for h in (h_orig, None if h_bits is None else nbits * h_bits)
             if h is not None]
    return h_orig, h_bits, (min(cands) if cands else None)


def fmt(h, width=9):
    return ("%*.6f" % (width, h)) if h is not None else "%*s" % (width, "-")


def report(path, nsamples, nbits, results, timing, skip, out=sys.stdout):
    h_orig, h_bits, h = summarize(results, nbits)
    w = out.write
    w("SP 800-90B 6.3 non-IID estimates: %s\n" % path)
    w("samples: %d, bits per sample: %d\n" % (nsamples, nbits))
    if nbits > 1:
        w("%-12s %-7s %12s %12s %12s\n" % ("estimator", "clause", "samples",
                                            "bitstring", "n*bitstring"))
    else:
        w("%-12s %-7s %12s\n" % ("estimator", "clause", "bits"))
    for name in ESTIMATORS:
        if name in skip:
            continue
        ro = results["orig"].get(name)
        rb = results.get("bits", {}).get(name)
        if nbits > 1:
            hb = rb.h if rb else None
            w("%-12s %-7s %12s %12s %12s\n" % (
                name, SECTION[name], fmt(ro.h if ro else None),
                fmt(hb), fmt(None if hb is None else nbits * hb)))
        else:
            w("%-12s %-7s %12s\n" % (name, SECTION[name], fmt(ro.h if ro else None)))
    if skip:
        w("skipped: %s\n" % ", ".join(s for s in ESTIMATORS if s in skip))
    w("details:\n")
    for which in results:
        for name in ESTIMATORS:
            r = results[which].get(name)
            if r is not None:
                w("  %-9s %-12s %s\n" % (which, name, r.note))
    w("time (s): %s\n" % ", ".join("%s/%s %.1f" % (n, v, s)
                                   for (n, v), s in sorted(timing.items())))
    if nbits > 1:
        w("H_original = %s bits/sample\n" % fmt(h_orig, 0))
        w("H_bitstring = %s bits/bit (x%d = %s)\n" % (
            fmt(h_bits, 0), nbits, fmt(None if h_bits is None else nbits * h_bits, 0)))
    w("min-entropy = %s bits per %d-bit sample (assessed, 3.1.3)\n" % (fmt(h, 0), nbits))
    return h


# ---------------------------------------------------------------------------
# Self-test

def self_test(jobs):
    fails = 0

    def check(ok, what):
        nonlocal fails
        print("%s - %s" % ("ok" if ok else "FAIL", what))
        if not ok:
            fails += 1

    # (c) Crafted: 1000 samples, the block 0 0 1 2 0 1 0 2 1 0 ten times
    # over a hundred: 500 of value 0, 300 of 1, 200 of 2.
    #   p-hat = 500/1000 = 0.5
    #   p_u   = 0.5 + 2.576 * sqrt(0.5 * 0.5 / 999)
    #         = 0.5 + 2.576 * 0.5 / 31.60696
    #         = 0.5 + 2.576 * 0.0158193 = 0.5 + 0.0407505 = 0.5407505
    #   H     = -log2(0.5407505) = -ln(0.5407505) / ln 2
    #         = 0.614797 / 0.693147 = 0.88697 bits
    crafted = bytes([0, 0, 1, 2, 0, 1, 0, 2, 1, 0] * 100)
    r = est_mcv(crafted, 4)
    check(abs(r.h - 0.88697) < 1e-4, "crafted MCV = 0.88697 (got %.5f)" % r.h)

    # Collision: the spec's expectation equals 2 + 2pq for a binary source.
    check(all(abs(collision_mean(p) - (2 + 2 * p * (1 - p))) < 1e-9
              for p in (0.5, 0.6, 0.8, 0.99)), "collision expectation = 2 + 2pq")
    # Compression: at p = 2^-6 the expectation is Maurer's 5.2177052 for
    # 6-bit blocks (the d = 1000 start-up makes no visible difference).
    nb = 200_000
    lg = [0.0] + [math.log2(u) for u in range(1, nb + 1)]
    e = 64 * compression_g(1 / 64, nb, COMP_DICT, lg, nb - COMP_DICT)
    check(abs(e - 5.2177052) < 1e-5, "compression expectation at 2^-6 = %.7f" % e)

    # (d) Biased i.i.d. source with a known p_max: 16 values, value 5 with
    # probability 1/4, the 15 others 1/20 each: H = -log2(1/4) = 2 bits.
    rng = random.Random(90_2018)
    weights = [0.05] * 16
    weights[5] = 0.25
    biased = bytes(rng.choices(range(16), weights, k=100_000))
    p, pl, pu = mcv_bounds(biased)
    check(neg_log2(pu) <= 2.0 <= neg_log2(pl),
          "biased i.i.d.: MCV bounds [%.4f, %.4f] bracket H = 2" %
          (neg_log2(pu), neg_log2(pl)))
    res, _ = assess(biased, 4, jobs=jobs)
    _, _, h = summarize(res, 4)
    check(1.6 <= h <= 2.0, "biased i.i.d.: assessed %.4f in [1.6, 2]" % h)

    # (a) os.urandom: every estimate near 8 bits, the minimum a bit under.
    # Collision and Compression on the bitstring sit lower and vary more:
    # their expectations are flat at the uniform point (zero slope), so the
    # 99% bound on the mean moves p a long way; 5.5 is over 3 sigma below
    # their typical 6.7 - 7.2 at this size.
    rnd = os.urandom(100_000)
    res, _ = assess(rnd, 8, jobs=jobs)
    low = {("orig", n): r.h for n, r in res["orig"].items()}
    low.update({("bits", n): 8 * r.h for n, r in res["bits"].items()})
    flat = {("bits", "collision"), ("bits", "compression")}
    bad = [k for k, x in low.items()
           if x is None or x > 8.0 or x < (5.5 if k in flat else 7.0)]
    check(not bad, "urandom: estimates >= 7 (collision, compression >= 5.5); "
          "lowest %.4f %s" % (min(low.values()), bad or ""))
    _, _, h = summarize(res, 8)
    check(5.5 <= h < 8.0, "urandom: assessed %.4f in [5.5, 8)" % h)

    # (b) Constant: all estimates near 0.
    res, _ = assess(bytes(20_000), 8, jobs=jobs)
    hs = [r.h for v in res.values() for r in v.values() if r.h is not None]
    check(len(hs) >= 15 and max(hs) < 0.01,
          "constant: all %d estimates < 0.01 (highest %.5f)" % (len(hs), max(hs)))

    # Binary input (-b 1): all ten apply; alternating bits are predictable.
    alt = bytes([0, 1] * 10_000)
    res, _ = assess(alt, 1, jobs=jobs)
    check(len(res["orig"]) == 10, "binary input runs all ten estimators")
    lagh = res["orig"]["lag"].h
    check(lagh is not None and lagh < 0.01, "alternating bits: lag %.5f < 0.01" % lagh)

    print("%d check(s) failed" % fails if fails else "all checks passed")
    return 1 if fails else 0


def main(argv):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("file", nargs="?", help="samples, one per byte")
    ap.add_argument("-b", "--bits", type=int, default=8, choices=range(1, 9),
                    metavar="N", help="use the low N bits of each byte (1..8)")
    ap.add_argument("--limit", type=int, default=0, metavar="N",
                    help="use only the first N samples")
    ap.add_argument("--skip", action="append", default=[], metavar="NAME",
                    choices=ESTIMATORS, help="leave out an estimator: "
                    + ", ".join(ESTIMATORS))
    ap.add_argument("-j", "--jobs", type=int, default=os.cpu_count() or 1,
                    help="worker processes (default: CPUs)")
    ap.add_argument("--self-test", action="store_true",
                    help="run the built-in checks, exit 0 if all pass")
    args = ap.parse_args(argv)
    if args.self_test:
        return self_test(args.jobs)
    if not args.file:
        ap.error("a sample file is required")
    with open(args.file, "rb") as f:
        data = f.read()
    if args.limit:
        data = data[:args.limit]
    if len(data) < 2:
        ap.error("%s: not enough samples" % args.file)
    results, timing = assess(data, args.bits, set(args.skip), args.jobs)
    report(args.file, len(data), args.bits, results, timing, set(args.skip))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
