#!/usr/bin/env python3
"""hostile.py - a hostile client for a running havege-rngd (python3, the
standard library only).

Point it at a daemon's EGD listener, and/or at the binary for file mode:

    hostile.py --egd unix:/run/havege-rngd/egd.sock --pid PID
    hostile.py --egd tcp:127.0.0.1:7777 --pid PID --signals --stop
    hostile.py --egd tcp:127.0.0.1:0 --pid PID     # the port read from PID
    hostile.py --binary ./havege-rngd --file-runs 20

It prints TAP ("ok N - ...", the plan last) and exits 0 when every check
passed.  Everything is bounded: every socket has a timeout, every phase a
deadline, every count an option; --seconds caps the whole run.

EGD checks (--egd), each a line:
  protocol   every command, zero and 255 lengths, 0x03 of 0 and 255 bytes
  pipeline   200 mixed requests in one write, replies in order
  garbage    unknown commands, garbage after a good request: closed
  half       requests cut short by the end of the stream: closed
  stall      a request left half sent without an end: closed (10 s)
  many       --conns connections at once, each served or refused, none hung
             (--served N: exactly N served)
  churn      --churn connections opened and dropped, some mid-request
  flood      16 clients flooding 0x00 for --flood seconds
  hangup     16 clients ask for 1020 bytes each and hang up at once
  resources  (with --pid) descriptors back to the baseline, RSS within
             2 MiB of it, and no CPU burnt while idle (--idle seconds)
  signals    (with --pid --signals) SIGUSR1 under a flood: still serving
  stop       (with --pid --stop; last) SIGTERM under a flood of 16
             clients ends the daemon within --stop-ms (default 100) ms
File-mode checks (--binary): --file-runs runs of "-n SIZE -f out.bin", each
sent TERM, INT, HUP, PIPE, QUIT, USR1, USR2 or ALRM at a random moment:
status 0 with the whole file, or 128 + the signal (or death by it, when it
came before the handlers were set) and no file; never a temporary file
left; and a reader of stdout that goes away: a quiet exit 0.

Reading /proc/PID needs the daemon's user or root; signalling it too.
"""
import argparse
import os
import random
import select
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time

TIMEOUT = 5.0           # any one socket operation
CHECKS = ("protocol", "pipeline", "garbage", "half", "stall", "many", "churn",
          "flood", "hangup", "resources", "signals", "stop")


class Tap:
    """TAP output: one line per check, the plan at the end."""

    def __init__(self):
        self.n = 0
        self.failed = 0

    def result(self, good, what, why=""):
        self.n += 1
        if good:
            print("ok %d - %s" % (self.n, what), flush=True)
        else:
            self.failed += 1
            print("not ok %d - %s" % (self.n, what), flush=True)
            if why:
                print("# " + str(why).replace("\n", "\n# "), flush=True)

    def skip(self, what, why):
        self.n += 1
        print("ok %d # SKIP %s: %s" % (self.n, what, why), flush=True)

    def done(self):
        print("1..%d" % self.n, flush=True)
        return 1 if self.failed else 0


# ---------------------------------------------------------------- sockets

def parse_addr(spec, pid):
    if spec.startswith("unix:"):
        return socket.AF_UNIX, spec[5:]
    if not spec.startswith("tcp:"):
        sys.exit("--egd: unix:PATH or tcp:HOST:PORT, not %r" % spec)
    host, _, port = spec[4:].rpartition(":")
    host = host.strip("[]") or "127.0.0.1"
    port = int(port)
    if port == 0:
        port = listening_port(pid)
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    return family, (host, port)


def listening_port(pid):
    """The TCP port PID listens on (for tcp:HOST:0): its socket inodes
    matched against /proc/net/tcp and tcp6, state 0A (LISTEN)."""
    if not pid:
        sys.exit("tcp:HOST:0 needs --pid to read the port back")
    inodes = set()
    for fd in os.listdir("/proc/%d/fd" % pid):
        try:
            link = os.readlink("/proc/%d/fd/%s" % (pid, fd))
        except OSError:
            continue
        if link.startswith("socket:["):
            inodes.add(link[8:-1])
    for table in ("/proc/%d/net/tcp" % pid, "/proc/%d/net/tcp6" % pid):
        with open(table) as f:
            for line in f.readlines()[1:]:
                w = line.split()
                if w[3] == "0A" and w[9] in inodes:
                    return int(w[1].rsplit(":", 1)[1], 16)
    sys.exit("no listening TCP socket in process %d" % pid)


def connect(addr, timeout=TIMEOUT):
    """A connection with every operation bounded by timeout.  A UNIX
    listener whose backlog is full refuses a non-blocking connect with
    EAGAIN: try again until the timeout."""
    end = time.monotonic() + timeout
    while True:
        s = socket.socket(addr[0], socket.SOCK_STREAM)
        s.settimeout(timeout)
        try:
            s.connect(addr[1])
            return s
        except BlockingIOError:
            s.close()
            if time.monotonic() > end:
                raise
            time.sleep(0.01)


def recvn(s, n):
    """Exactly n bytes, or None at the end of the stream."""
    b = b""
    while len(b) < n:
        c = s.recv(n - len(b))
        if not c:
            return None
        b += c
    return b


def closed_by_peer(s):
    """True when the server closes the connection (EOF or a reset)
    without sending anything more; a timeout is False."""
    try:
        return s.recv(1) == b""
    except ConnectionResetError:
        return True
    except OSError:
        return False


def ask(s, req):
    """Send one request and read its reply; None if the server hung up."""
    s.sendall(req)
    return read_reply(s, req)


def read_reply(s, req):
    cmd = req[0]
    if cmd == 0:
        return recvn(s, 4)
    if cmd == 1:
        k = recvn(s, 1)
        return None if k is None else k + (recvn(s, k[0]) or b"")
    if cmd == 2:
        return recvn(s, req[1]) if req[1] else b""
    if cmd == 4:
        k = recvn(s, 1)
        return None if k is None else recvn(s, k[0])
    return b""


# ---------------------------------------------------------------- /proc

def proc_fds(pid):
    return len(os.listdir("/proc/%d/fd" % pid))


def proc_rss_kb(pid):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


def proc_ticks(pid):
    with open("/proc/%d/stat" % pid) as f:
        w = f.read().rsplit(")", 1)[1].split()
    return int(w[11]) + int(w[12])          # utime + stime


def proc_gone(pid):
    """The process has exited (gone, or a zombie waiting for its parent)."""
    try:
        with open("/proc/%d/stat" % pid) as f:
            return f.read().rsplit(")", 1)[1].split()[0] in ("Z", "X")
    except OSError:
        return True


def wait_until(pred, seconds, step=0.05):
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        if pred():
            return True
        time.sleep(step)
    return pred()


# ---------------------------------------------------------------- EGD checks

def check_protocol(a):
    """Every command once, with the edge lengths, on one connection."""
    s = connect(a.addr)
    try:
        pid = ask(s, b"\x04")
        if pid is None or not pid.isdigit():
            return False, "0x04: %r" % pid
        if a.pid and int(pid) != a.pid:
            return False, "0x04 says %s, the daemon is %d" % (pid, a.pid)
        if ask(s, b"\x00") is None:
            return False, "0x00: no 4-byte reply"
        if ask(s, b"\x01\x00") != b"\x00":
            return False, "0x01 0: not a zero count"
        # 0x02 0 has no reply: the next request's reply comes first.
        s.sendall(b"\x02\x00")
        if ask(s, b"\x04") != pid:
            return False, "0x02 0 then 0x04: not the PID next"
        nb = ask(s, b"\x01\xff")
        if nb is None or len(nb) != 1 + nb[0]:
            return False, "0x01 255: %r" % nb
        if len(ask(s, b"\x02\xff") or b"") != 255:
            return False, "0x02 255: not 255 bytes"
        s.sendall(b"\x03\x00\x00\x00" + b"\x03\xff\xff\xff" + bytes(255))
        if len(ask(s, b"\x02\x01") or b"") != 1:
            return False, "0x03 of 0 and of 255 bytes, then 0x02 1: not served"
        return True, ""
    finally:
        s.close()


def pipeline_requests(rng, n):
    reqs = []
    for _ in range(n):
        kind = rng.choice((0, 1, 2, 2, 3, 4))
        if kind in (1, 2):
            reqs.append(bytes([kind, rng.randrange(0, 129)]))
        elif kind == 3:
            k = rng.randrange(0, 256)
            reqs.append(bytes([3, 0, 8, k]) + bytes(k))
        else:
            reqs.append(bytes([kind]))
    return reqs


def check_pipeline(a):
    """200 requests in one write; every reply in order, of its shape."""
    reqs = pipeline_requests(random.Random(a.seed), 200)
    s = connect(a.addr, timeout=max(TIMEOUT, 30))
    try:
        s.sendall(b"".join(reqs))
        for i, r in enumerate(reqs):
            rep = read_reply(s, r)
            if rep is None:
                return False, "closed at request %d (%s)" % (i, r[:2].hex())
            if r[0] == 2 and len(rep) != r[1]:
                return False, "request %d: %d bytes, not %d" % (i, len(rep), r[1])
        return ask(s, b"\x02\x08") is not None, "not served after the pipeline"
    finally:
        s.close()


def check_garbage(a):
    """Unknown commands close that connection, and only that one."""
    good = connect(a.addr)
    bad = [bytes([b]) + os.urandom(8) for b in (5, 6, 0x10, 0x7f, 0x80, 0xfe, 0xff)]
    bad.append(b"\x02\x08\xee")             # a good request, then garbage
    try:
        for junk in bad:
            s = connect(a.addr)
            s.sendall(junk)
            if junk[0] == 2 and recvn(s, 8) is None:
                return False, "the good request before garbage was not answered"
            shut = closed_by_peer(s)
            s.close()
            if not shut:
                return False, "not closed after %s" % junk.hex()
        return ask(good, b"\x02\x10") is not None, "an innocent client was dropped"
    finally:
        good.close()


def check_half(a):
    """A request cut short by the end of the stream closes the connection."""
    for part in (b"\x01", b"\x02", b"\x03\x00", b"\x03\x00\x08\x40" + bytes(10)):
        s = connect(a.addr)
        s.sendall(part)
        s.shutdown(socket.SHUT_WR)
        shut = closed_by_peer(s)
        s.close()
        if not shut:
            return False, "not closed after %s and the end of the stream" % part.hex()
    return True, ""


def check_stall(a):
    """A request left half sent, the stream still open: closed in time."""
    s = connect(a.addr, timeout=15)
    try:
        t = time.monotonic()
        s.sendall(b"\x02")
        shut = closed_by_peer(s)
        return shut, "still open %.1f s after a half request" % (time.monotonic() - t)
    finally:
        s.close()


def check_many(a):
    """--conns connections at once: each served or refused, none hung."""
    socks, served, refused = [], 0, 0
    try:
        for _ in range(a.conns):
            socks.append(connect(a.addr))
        for s in socks:
            try:
                s.sendall(b"\x02\x10")
            except OSError:
                pass                        # refused before we wrote
        for s in socks:
            try:
                rep = recvn(s, 16)
            except ConnectionResetError:
                rep = None
            served, refused = served + (rep is not None), refused + (rep is None)
    except socket.timeout:
        return False, "a connection hung (%d served, %d refused)" % (served, refused)
    finally:
        for s in socks:
            s.close()
    want = served > 0 if a.served is None else served == a.served
    return want, "%d connections: %d served, %d refused%s" % (
        a.conns, served, refused, "" if a.served is None else " (%d expected)" % a.served)


def check_churn(a):
    """--churn connections dropped, some mid-request: still serving.

    A third hang up right after connecting, a third after asking for 255
    bytes, a third in the middle of a 0x03."""
    for i in range(a.churn):
        s = connect(a.addr)
        if i % 3 == 1:
            s.sendall(b"\x02\xff")
        elif i % 3 == 2:
            s.sendall(b"\x03\x00\x08\x40")
        s.close()
    s = connect(a.addr)
    try:
        return ask(s, b"\x02\x40") is not None, "not served after the churn"
    finally:
        s.close()


class Flood:
    """n clients, each writing 0x00 requests 64 KiB at a time from one
    thread while another reads the replies, until stop() or the daemon
    hangs up: the daemon always has work, so its poll never sleeps."""

    def __init__(self, addr, n=16):
        self.addr, self.halt = addr, threading.Event()
        self.replies, self.errors, self.lock = 0, [], threading.Lock()
        self.threads = [threading.Thread(target=self.run, daemon=True) for _ in range(n)]

    def run(self):
        try:
            s = connect(self.addr)
        except OSError as e:
            self.note(0, e)
            return
        w = threading.Thread(target=self.write, args=(s,), daemon=True)
        w.start()
        try:
            while not self.halt.is_set():
                got = s.recv(65536)
                if not got:
                    break                   # the daemon went away
                self.note(len(got) // 4)
        except OSError as e:
            if not self.halt.is_set():
                self.note(0, e)
        self.halt.wait()
        s.close()
        w.join(TIMEOUT + 1)

    def write(self, s):
        chunk = b"\x00" * 65536
        try:
            while not self.halt.is_set():
                s.sendall(chunk)
        except OSError:
            pass                            # closed, or the daemon went away

    def note(self, n, err=None):
        with self.lock:
            self.replies += n
            if err is not None:
                self.errors.append(err)

    def __enter__(self):
        for t in self.threads:
            t.start()
        wait_until(lambda: self.replies > 1000 or self.errors, 5, 0.01)
        return self

    def __exit__(self, *exc):
        self.halt.set()
        for t in self.threads:
            t.join(TIMEOUT + 1)


def check_flood(a):
    """16 clients flooding 0x00; a fresh client is still served."""
    with Flood(a.addr) as f:
        time.sleep(a.flood)
        s = connect(a.addr)
        try:
            served = ask(s, b"\x02\x20") is not None
        finally:
            s.close()
    return served and f.replies > 0, "%d replies to the flood, a fresh client %s" % (
        f.replies, "served" if served else "not served")


def check_hangup(a):
    """Clients that hang up while owed bytes cost nothing afterwards.

    Each asks for 1020 bytes, takes the first of them (under a rate limit,
    what its bucket held), and hangs up still owed the rest."""
    for _ in range(16):
        s = connect(a.addr, timeout=1)
        s.sendall(b"\x02\xff" * 4)
        try:
            s.recv(1)
        except socket.timeout:
            pass
        s.close()
    if not a.pid:
        return True, ""
    time.sleep(0.2)
    t = proc_ticks(a.pid)
    time.sleep(1)
    burnt = proc_ticks(a.pid) - t
    return burnt <= 1, "%d ticks of CPU in the second after 16 hung-up clients" % burnt


def check_resources(a):
    """Descriptors and RSS back to the start, no CPU while idle."""
    fds = proc_fds(a.pid)
    back = wait_until(lambda: proc_fds(a.pid) <= a.base_fds, 5)
    if not back:
        return False, "%d descriptors, %d at the start" % (proc_fds(a.pid), a.base_fds)
    rss = proc_rss_kb(a.pid)
    if rss > a.base_rss + 2048:
        return False, "RSS %d KiB, %d KiB at the start" % (rss, a.base_rss)
    t = proc_ticks(a.pid)
    time.sleep(a.idle)
    idle = proc_ticks(a.pid) - t
    return idle <= 1, "%d ticks of CPU while idle for %.1f s (descriptors %d -> %d)" % (
        idle, a.idle, fds, proc_fds(a.pid))


def log_count(path, word):
    try:
        with open(path, errors="replace") as f:
            return f.read().count(word)
    except OSError:
        return 0


def check_signals(a):
    """SIGUSR1 under a flood: statistics (with --log), still serving."""
    before = log_count(a.log, "statistics") if a.log else 0
    with Flood(a.addr):
        os.kill(a.pid, signal.SIGUSR1)
        if a.log and not wait_until(lambda: log_count(a.log, "statistics") > before, 5, 0.01):
            return False, "no statistics in %s under the flood" % a.log
        s = connect(a.addr)
        try:
            served = ask(s, b"\x02\x20") is not None
        finally:
            s.close()
    return served and not proc_gone(a.pid), "not serving after SIGUSR1"


def wait_gone(pid, seconds):
    """Wait for pid to exit: on a pidfd where there is one (a wake-up in
    the kernel, not a poll loop fighting the flood's threads for the
    interpreter), else by looking at /proc every millisecond."""
    try:
        fd = os.pidfd_open(pid)
    except (AttributeError, OSError):
        return wait_until(lambda: proc_gone(pid), seconds, 0.001)
    try:
        p = select.poll()
        p.register(fd, select.POLLIN)
        return bool(p.poll(seconds * 1000)) or proc_gone(pid)
    finally:
        os.close(fd)


def check_stop(a):
    """SIGTERM under a flood: the daemon is gone within --stop-ms."""
    with Flood(a.addr):
        t = time.monotonic()
        os.kill(a.pid, signal.SIGTERM)
        gone = wait_gone(a.pid, 10)
        ms = (time.monotonic() - t) * 1000
    if not gone:
        return False, "still running 10 s after SIGTERM under a flood"
    print("# gone %.1f ms after SIGTERM" % ms, flush=True)
    return ms <= a.stop_ms, "gone %.1f ms after SIGTERM under a flood of 16 clients" % ms


# ---------------------------------------------------------------- file mode

def size_bytes(text):
    mult = {"k": 1 << 10, "m": 1 << 20, "g": 1 << 30}.get(text[-1:].lower(), 1)
    return int(text.rstrip("kKmMgG")) * mult


def file_run(a, rng, sig):
    """One -n SIZE -f out.bin run, sig sent at a random moment.  Returns
    None when all is well, else what was wrong."""
    with tempfile.TemporaryDirectory(prefix="hostile.") as d:
        p = subprocess.Popen([a.binary, "-n", a.file_size, "-f", "out.bin"], cwd=d,
                             stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                             stderr=subprocess.PIPE)
        time.sleep(rng.uniform(0, a.file_delay))
        p.send_signal(sig)
        try:
            err = p.communicate(timeout=60)[1].decode(errors="replace").strip()
        except subprocess.TimeoutExpired:
            p.kill()
            p.communicate()
            return "still running 60 s after %s" % sig.name
        left = sorted(os.listdir(d))
        st = p.returncode
        if st == 0:
            whole = left == ["out.bin"] and \
                os.path.getsize(os.path.join(d, "out.bin")) == size_bytes(a.file_size)
            return None if whole else "status 0 but %s" % left
        if st in (128 + sig, -sig):
            return None if not left else "stopped by %s, left %s" % (sig.name, left)
        return "%s: status %d, left %s: %s" % (sig.name, st, left, err[:200])


def check_file_runs(a, tap):
    rng = random.Random(a.seed)
    sigs = (signal.SIGTERM, signal.SIGINT, signal.SIGHUP, signal.SIGPIPE,
            signal.SIGQUIT, signal.SIGUSR1, signal.SIGUSR2, signal.SIGALRM)
    bad = []
    for _ in range(a.file_runs):
        why = file_run(a, rng, rng.choice(sigs))
        if why:
            bad.append(why)
    tap.result(not bad, "file mode: %d runs signalled at random moments, whole or "
               "nothing, no temporary file" % a.file_runs, "; ".join(bad[:5]))


def check_stdout_reader(a, tap):
    p = subprocess.Popen([a.binary, "-n", "0"], stdin=subprocess.DEVNULL,
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    got = p.stdout.read(4096)
    p.stdout.close()
    try:
        err = p.communicate(timeout=30)[1].decode(errors="replace").strip()
    except subprocess.TimeoutExpired:
        p.kill()
        p.communicate()
        tap.result(False, "stdout: the reader goes away", "still running after 30 s")
        return
    tap.result(len(got) == 4096 and p.returncode == 0 and not err,
               "stdout: the reader goes away after 4096 bytes: a quiet exit 0",
               "status %d, %d bytes, stderr %r" % (p.returncode, len(got), err[:200]))


# ---------------------------------------------------------------- main

def options():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--egd", help="unix:PATH or tcp:HOST:PORT (PORT 0: read from --pid)")
    ap.add_argument("--pid", type=int, default=0, help="the daemon's PID")
    ap.add_argument("--log", help="the daemon's log file, for SIGUSR1's statistics")
    ap.add_argument("--checks", default=",".join(c for c in CHECKS
                                                 if c not in ("signals", "stop")),
                    help="comma-separated, from: " + " ".join(CHECKS))
    ap.add_argument("--signals", action="store_true", help="add the signals check")
    ap.add_argument("--stop", action="store_true", help="add the stop check (last)")
    ap.add_argument("--conns", type=int, default=200)
    ap.add_argument("--served", type=int, help="many: exactly this many served "
                    "(the daemon's --egd-clients when --conns is larger)")
    ap.add_argument("--churn", type=int, default=1000)
    ap.add_argument("--flood", type=float, default=2.0, help="seconds")
    ap.add_argument("--idle", type=float, default=3.0, help="seconds")
    ap.add_argument("--stop-ms", type=float, default=100.0)
    ap.add_argument("--binary", help="havege-rngd, for the file-mode checks")
    ap.add_argument("--file-runs", type=int, default=20)
    ap.add_argument("--file-size", default="4m")
    ap.add_argument("--file-delay", type=float, default=0.3, help="seconds, at most")
    ap.add_argument("--seconds", type=float, default=120.0, help="the whole run, at most")
    ap.add_argument("--seed", type=int, default=int(time.time()))
    a = ap.parse_args()
    a.checks = [c for c in a.checks.split(",") if c]
    a.checks += ["signals"] * a.signals + ["stop"] * a.stop
    unknown = set(a.checks) - set(CHECKS)
    if unknown:
        ap.error("unknown checks: %s" % " ".join(sorted(unknown)))
    return a


def run_egd(a, tap, end):
    a.addr = parse_addr(a.egd, a.pid)
    if a.pid:
        a.base_fds, a.base_rss = proc_fds(a.pid), proc_rss_kb(a.pid)
    for name in a.checks:
        if name in ("resources", "signals", "stop") and not a.pid:
            tap.skip(name, "needs --pid")
            continue
        if time.monotonic() > end:
            tap.skip(name, "--seconds ran out")
            continue
        try:
            good, why = globals()["check_" + name](a)
        except Exception as e:      # a check that broke is a failed check
            good, why = False, "%s: %s" % (type(e).__name__, e)
        tap.result(good, "egd %s: %s" % (name, globals()["check_" + name].__doc__.split(
            "\n")[0].strip() if globals()["check_" + name].__doc__ else name), why)


def main():
    a = options()
    tap = Tap()
    print("# hostile.py --seed %d" % a.seed, flush=True)
    end = time.monotonic() + a.seconds
    if a.egd:
        run_egd(a, tap, end)
    if a.binary:
        check_file_runs(a, tap)
        check_stdout_reader(a, tap)
    if not a.egd and not a.binary:
        sys.exit("nothing to do: give --egd and/or --binary")
    return tap.done()


if __name__ == "__main__":
    sys.exit(main())
