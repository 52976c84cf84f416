#!/usr/bin/env python3
"""Hand a program sockets the way systemd's socket activation does, for
tests/e2e-socket.sh.

    listen.py HANDOFF PATH PROGRAM [ARG...]
HANDOFF says what descriptor 3 is and what the variables say:
    good       a listening UNIX stream socket bound to PATH, LISTEN_FDS=1,
               LISTEN_PID this process (the one that execs PROGRAM)
    two        that, and a second one on PATH.2 as descriptor 4 (LISTEN_FDS=2)
    otherpid   a good socket, but LISTEN_PID another process's
    notlisten  a UNIX stream socket bound to PATH, never listen()ed
    dgram      a UNIX datagram socket bound to PATH
    file       a regular file (PATH, created)
    closed     nothing open at 3, LISTEN_FDS=1
    badcount   a good socket, LISTEN_FDS=x1
Then execs PROGRAM, so LISTEN_PID is its PID.
"""
import os
import socket
import sys


def put(fd_wanted, obj_fd):
    if obj_fd != fd_wanted:
        os.dup2(obj_fd, fd_wanted, inheritable=True)
    else:
        os.set_inheritable(fd_wanted, True)


def unix(path, kind=socket.SOCK_STREAM, listen=True):
    try:
        os.unlink(path)
    except FileNotFoundError:
        pass
    s = socket.socket(socket.AF_UNIX, kind)
    s.bind(path)
    if listen:
        s.listen(16)
    return s


def main():
    handoff, path, argv = sys.argv[1], sys.argv[2], sys.argv[3:]
    keep = []
    n, pid = "1", str(os.getpid())
    if handoff in ("good", "otherpid", "badcount", "two"):
        keep.append(unix(path))
    elif handoff == "notlisten":
        keep.append(unix(path, listen=False))
    elif handoff == "dgram":
        keep.append(unix(path, socket.SOCK_DGRAM, listen=False))
    elif handoff == "file":
        keep.append(open(path, "w"))
    elif handoff != "closed":
        sys.exit("listen.py: unknown hand-off " + handoff)
    if handoff == "two":
        keep.append(unix(path + ".2"))
        n = "2"
    if handoff == "otherpid":
        pid = str(os.getppid())
    if handoff == "badcount":
        n = "x1"
    # descriptors 3 (and 4) free first: whatever is there now is moved up
    fds = [k.fileno() for k in keep]
    moved = [os.dup(f) if f < 3 + len(fds) else f for f in fds]
    for i, f in enumerate(moved):
        put(3 + i, f)
    if handoff == "closed":
        try:
            os.close(3)
        except OSError:
            pass
    os.environ["LISTEN_FDS"] = n
    os.environ["LISTEN_PID"] = pid
    os.execvp(argv[0], argv)


main()
