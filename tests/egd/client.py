#!/usr/bin/env python3
"""A small EGD client for tests/e2e-egd.sh.

    client.py ADDRESS COMMAND...   ADDRESS: a socket path, or HOST:PORT
Commands, run in order on one connection, each printing one line:
    read N     0x02 N: prints "read <count> <hex>"
    nb N       0x01 N: prints "nb <count>"
    pid        0x04: prints "pid <text>"
    level      0x00: prints "level <bits>"
    write N    0x03 with N bytes, no reply: prints "write <N>"
    garbage    one invalid byte; prints "closed" when the server hangs up
Every wait is bounded (10 s); exit status 2 on a timeout or early close.
"""
import socket
import sys
import time


def connect(addr):
    if ":" in addr and not addr.startswith("/"):
        host, port = addr.rsplit(":", 1)
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        target = (host, int(port))
    else:
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        target = addr
    for _ in range(200):
        try:
            s.connect(target)
            break
        except OSError:
            time.sleep(0.05)
    else:
        sys.exit("cannot connect to %s" % addr)
    s.settimeout(10)
    return s


def recvn(s, n):
    b = b""
    while len(b) < n:
        c = s.recv(n - len(b))
        if not c:
            print("early close after %d of %d bytes" % (len(b), n))
            sys.exit(2)
        b += c
    return b


def main():
    s = connect(sys.argv[1])
    args = sys.argv[2:]
    while args:
        cmd = args.pop(0)
        if cmd == "read":
            n = int(args.pop(0))
            s.sendall(bytes([2, n]))
            d = recvn(s, n)
            print("read", len(d), d.hex())
        elif cmd == "nb":
            n = int(args.pop(0))
            s.sendall(bytes([1, n]))
            k = recvn(s, 1)[0]
            recvn(s, k)
            print("nb", k)
        elif cmd == "pid":
            s.sendall(b"\x04")
            n = recvn(s, 1)[0]
            print("pid", recvn(s, n).decode())
        elif cmd == "level":
            s.sendall(b"\x00")
            print("level", int.from_bytes(recvn(s, 4), "big"))
        elif cmd == "write":
            n = int(args.pop(0))
            s.sendall(bytes([3, 0, 8, n]) + bytes(n))
            print("write", n)
        elif cmd == "garbage":
            s.sendall(b"\x07")
            try:
                print("closed" if s.recv(16) == b"" else "still open")
            except socket.timeout:
                print("still open")
        else:
            sys.exit("unknown command " + cmd)


if __name__ == "__main__":
    main()
