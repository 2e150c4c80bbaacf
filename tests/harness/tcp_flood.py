#!/usr/bin/env python3
"""Hostile TCP clients for the HJ 212 gateway tests (loopback only).

  tcp_flood.py idle PORT --src ADDR --n N --hold S
      N connections from ADDR that never send; prints one line per
      connection: "closed SECONDS" (the server closed it that long after the
      connect) or "open" (still open after S seconds).
  tcp_flood.py slow PORT --src ADDR --n N --hold S --data FILE --interval I
               [--first FILE]
      like idle, but each connection sends FILE one byte every I seconds;
      with --first, that file is sent at once and one answer byte awaited
      before the trickle starts, and SECONDS count from the first trickled
      byte. Prints "closed SECONDS SENT" or "open SENT".
  tcp_flood.py flood PORT --srcs A.B.C.X-Y --per K --secs S [--delay D]
      keeps K idle connections from each of the addresses, reopening each one
      D seconds (0.2) after the server closes it, for S seconds; prints
      "connects=N closed=M max_open=O".

Every source address must be in 127.0.0.0/8: the script refuses others."""
import argparse
import ipaddress
import selectors
import socket
import sys
import time


def loopback(addr):
    if not ipaddress.ip_address(addr).is_loopback:
        sys.exit(f"tcp_flood: {addr} is not a loopback address")
    return addr


def connect(src, port):
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.bind((loopback(src), 0))
    s.settimeout(5)
    s.connect(("127.0.0.1", port))
    s.setblocking(False)
    return s


def closed_by_peer(s):
    """True when the peer closed or reset the connection (data is discarded)."""
    try:
        while True:
            b = s.recv(4096)
            if not b:
                return True
    except BlockingIOError:
        return False
    except OSError:
        return True


def watch(conns, hold, step=None):
    """conns: list of dicts with 'sock' and 't0'. Runs until every one is
    closed or hold seconds passed; step(c, now) is called every 10 ms for
    open ones. Sets c['closed'] to the close time minus c['t0']."""
    sel = selectors.DefaultSelector()
    for c in conns:
        sel.register(c["sock"], selectors.EVENT_READ, c)
    end = time.monotonic() + hold
    open_n = len(conns)
    while open_n and time.monotonic() < end:
        for key, _ in sel.select(0.01):
            c = key.data
            if closed_by_peer(c["sock"]):
                c["closed"] = time.monotonic() - c["t0"]
                sel.unregister(c["sock"])
                open_n -= 1
        if step:
            now = time.monotonic()
            for c in conns:
                if "closed" not in c:
                    step(c, now)
    for c in conns:
        c["sock"].close()


def cmd_idle(a):
    conns = [{"sock": connect(a.src, a.port), "t0": time.monotonic()} for _ in range(a.n)]
    watch(conns, a.hold)
    for c in conns:
        print(f"closed {c['closed']:.2f}" if "closed" in c else "open")


def cmd_slow(a):
    data = open(a.data, "rb").read()
    first = open(a.first, "rb").read() if a.first else None
    conns = []
    for _ in range(a.n):
        s = connect(a.src, a.port)
        if first:
            s.setblocking(True)
            s.sendall(first)
            if not s.recv(1):
                sys.exit("tcp_flood: no answer to the first frame")
            s.setblocking(False)
        conns.append({"sock": s, "t0": time.monotonic(), "sent": 0, "next": 0.0})

    def step(c, now):
        if c["sent"] < len(data) and now >= c["next"]:
            try:
                c["sock"].send(data[c["sent"]:c["sent"] + 1])
                c["sent"] += 1
            except OSError:
                pass
            c["next"] = now + a.interval

    watch(conns, a.hold, step)
    for c in conns:
        print(f"closed {c['closed']:.2f} {c['sent']}" if "closed" in c else f"open {c['sent']}")


def cmd_flood(a):
    net, _, rng = a.srcs.rpartition(".")
    lo, _, hi = rng.partition("-")
    srcs = [f"{net}.{i}" for i in range(int(lo), int(hi or lo) + 1)]
    slots = [{"src": src, "sock": None, "at": 0.0} for src in srcs for _ in range(a.per)]
    sel = selectors.DefaultSelector()
    connects = closed = max_open = 0
    end = time.monotonic() + a.secs
    while time.monotonic() < end:
        now = time.monotonic()
        for sl in slots:
            if sl["sock"] is None and now >= sl["at"]:
                try:
                    sl["sock"] = connect(sl["src"], a.port)
                except OSError:
                    sl["at"] = now + a.delay
                    continue
                connects += 1
                sel.register(sl["sock"], selectors.EVENT_READ, sl)
        for key, _ in sel.select(0.01):
            sl = key.data
            if closed_by_peer(sl["sock"]):
                sel.unregister(sl["sock"])
                sl["sock"].close()
                sl["sock"] = None
                sl["at"] = time.monotonic() + a.delay
                closed += 1
        max_open = max(max_open, sum(1 for sl in slots if sl["sock"] is not None))
    for sl in slots:
        if sl["sock"] is not None:
            sl["sock"].close()
    print(f"connects={connects} closed={closed} max_open={max_open}")


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    sub = p.add_subparsers(dest="cmd", required=True)
    for name in ("idle", "slow"):
        q = sub.add_parser(name)
        q.add_argument("port", type=int)
        q.add_argument("--src", required=True)
        q.add_argument("--n", type=int, required=True)
        q.add_argument("--hold", type=float, required=True)
        if name == "slow":
            q.add_argument("--data", required=True)
            q.add_argument("--interval", type=float, required=True)
            q.add_argument("--first")
    q = sub.add_parser("flood")
    q.add_argument("port", type=int)
    q.add_argument("--srcs", required=True)
    q.add_argument("--per", type=int, required=True)
    q.add_argument("--secs", type=float, required=True)
    q.add_argument("--delay", type=float, default=0.2)
    a = p.parse_args()
    if not 1 <= getattr(a, "n", 1) <= 1000 or not 1 <= getattr(a, "per", 1) <= 100:
        sys.exit("tcp_flood: bounded floods only (n <= 1000, per <= 100)")
    {"idle": cmd_idle, "slow": cmd_slow, "flood": cmd_flood}[a.cmd](a)


if __name__ == "__main__":
    main()
