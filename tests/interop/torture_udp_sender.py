"""Sends SIP messages over UDP, byte-exact, and collects what comes back.

Runs inside the network namespace of test_torture_udp (`ip netns exec NS python3
torture_udp_sender.py`), so that answers addressed to the messages' Via sent-by ports on
127.0.0.1 reach it and nothing leaves the machine. Reads a JSON plan on stdin, writes a
JSON report on stdout; every wait is bounded by the plan's timeouts.

Plan: {"target": [host, port], "listen_ports": [...], "messages": [{"name", "path",
"reply_port", "wait_final": bool, "timeout": s, "linger": s, "pause_before": s}], "settle": s}
Report: {"results": {name: {"responses": [...], "duplicates": n, "acks_sent": n}},
"unattributed": [...]} with each response as {"status", "reason", "headers", "text"}.
"""
import json
import re
import select
import socket
import sys
import time

HEADER_NAME = re.compile(rb"^([!-9;-~]+)[ \t]*:(.*)$", re.S)  # token, LWS, ':'
COMPACT = {b"i": b"call-id", b"v": b"via", b"t": b"to", b"f": b"from", b"l": b"content-length",
           b"c": b"content-type", b"m": b"contact", b"k": b"supported", b"e": b"content-encoding"}


def header_section(data):
    end = data.find(b"\r\n\r\n")
    return data if end < 0 else data[:end]


def unfolded_headers(data):
    """(lower-case long name, value) pairs of the header section, continuation lines
    joined (RFC 3261 7.3.1)."""
    lines = header_section(data).split(b"\r\n")
    joined = []
    for line in lines[1:]:
        if line[:1] in (b" ", b"\t") and joined:
            joined[-1] += b" " + line.strip()
        else:
            joined.append(line)
    headers = []
    for line in joined:
        m = HEADER_NAME.match(line)
        if not m:
            continue
        name = m.group(1).lower()
        headers.append((COMPACT.get(name, name).decode("latin1"), m.group(2).strip().decode("latin1")))
    return headers


def first(headers, name):
    for key, value in headers:
        if key == name:
            return value
    return None


def reply_port(data):
    """Where an RFC 3261 18.2.2 / RFC 3581 server sends the answer to `data` sent from
    127.0.0.1: the top Via's sent-by port (5060 when absent), or None when the Via asks
    for rport (then the answer goes to the source port)."""
    via = first(unfolded_headers(data), "via")
    if via is None:
        return 5060
    top = re.sub(r"\s+", " ", via.split(",")[0])
    params = [p.strip().lower() for p in top.split(";")[1:]]
    if any(p == "rport" or p.startswith("rport=") for p in params):
        return None
    m = re.match(r"^SIP ?/ ?[^/ ]+ ?/ ?\S+ (\[[^\]]*\]|[^:; ]+)(?: ?: ?(\d+))?", top, re.I)
    return int(m.group(2)) if m and m.group(2) else 5060


def parse_response(data):
    status_line = data.split(b"\r\n", 1)[0].decode("latin1")
    m = re.match(r"^SIP/2\.0 (\d{3}) (.*)$", status_line)
    headers = unfolded_headers(data)
    return {
        "status": int(m.group(1)) if m else None,
        "reason": m.group(2) if m else status_line,
        "headers": headers,
        "text": data.decode("latin1")[:1500],
    }


def raw_header(data, name):
    """The value of the first `name` header as sent, continuation lines included (the
    RFC 2543 transaction key compares the top Via as sent)."""
    lines = header_section(data).split(b"\r\n")[1:]
    for i, line in enumerate(lines):
        m = HEADER_NAME.match(line)
        if not m or COMPACT.get(m.group(1).lower(), m.group(1).lower()).decode("latin1") != name:
            continue
        value = [m.group(2).lstrip(b" \t")]
        for more in lines[i + 1:]:
            if more[:1] not in (b" ", b"\t"):
                break
            value.append(more)
        return b"\r\n".join(value)
    return None


def build_ack(request, response):
    """The ACK of a non-2xx final answer to an INVITE (RFC 3261 17.1.1.3): the request's
    Request-URI, top Via, From, Call-ID and CSeq number, the answer's To (with its tag)."""
    request_line = request.split(b"\r\n", 1)[0].split(b" ")
    via, from_, call_id, cseq = (raw_header(request, n) for n in ("via", "from", "call-id", "cseq"))
    to = first(response["headers"], "to")
    if len(request_line) < 2 or None in (via, from_, to, call_id, cseq) or not cseq.split():
        return None
    if b"," in via:  # several via-parms in the first Via header: keep the top one
        via = via.split(b",")[0]
    return (b"ACK " + request_line[1] + b" SIP/2.0\r\nVia: " + via + b"\r\nFrom: " + from_ +
            b"\r\nTo: " + to.encode("latin1") + b"\r\nCall-ID: " + call_id + b"\r\nCSeq: " +
            cseq.split()[0] + b" ACK\r\nMax-Forwards: 70\r\nContent-Length: 0\r\n\r\n")


def main():
    plan = json.load(sys.stdin)
    target = (plan["target"][0], plan["target"][1])
    sockets = {}
    for port in sorted(set(plan["listen_ports"])):
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        s.bind(("127.0.0.1", port))
        s.setblocking(False)
        sockets[port] = s
    default_port = min(sockets)

    messages = []
    for entry in plan["messages"]:
        with open(entry["path"], "rb") as f:
            data = f.read()
        call_id = first(unfolded_headers(data), "call-id")
        messages.append({**entry, "data": data, "call_id": call_id})
    by_call_id = {m["call_id"]: m["name"] for m in messages if m["call_id"]}
    results = {m["name"]: {"responses": [], "duplicates": 0, "acks_sent": 0, "sent_from": None}
               for m in messages}
    seen = {m["name"]: set() for m in messages}
    unattributed = []

    def receive(until, current):
        """Reads answers until the monotonic deadline; returns when `current` has a final
        answer and the caller asked to stop there (via the returned flag)."""
        while True:
            left = until - time.monotonic()
            if left <= 0:
                return
            ready, _, _ = select.select(list(sockets.values()), [], [], left)
            for s in ready:
                try:
                    data, _ = s.recvfrom(65535)
                except BlockingIOError:
                    continue
                response = parse_response(data)
                response["to_port"] = s.getsockname()[1]
                call_id = first(response["headers"], "call-id")
                name = by_call_id.get(call_id) or (current["name"] if current else None)
                if name is None:
                    unattributed.append(response)
                    continue
                if data in seen[name]:
                    results[name]["duplicates"] += 1  # a retransmission
                    continue
                seen[name].add(data)
                results[name]["responses"].append(response)
                owner = next(m for m in messages if m["name"] == name)
                status = response["status"] or 0
                if status >= 300 and owner["data"].startswith(b"INVITE "):
                    ack = build_ack(owner["data"], response)
                    if ack:
                        s.sendto(ack, target)
                        results[name]["acks_sent"] += 1
            if current and current.get("wait_final") and not current.get("final_at"):
                if any((r["status"] or 0) >= 200 for r in results[current["name"]]["responses"]):
                    current["final_at"] = time.monotonic()
                    until = min(until, current["final_at"] + current["linger"])

    for m in messages:
        receive(time.monotonic() + m.get("pause_before", 0), None)
        port = m["reply_port"] if m["reply_port"] in sockets else default_port
        sockets[port].sendto(m["data"], target)
        results[m["name"]]["sent_from"] = port
        receive(time.monotonic() + m["timeout"], m)
    receive(time.monotonic() + plan.get("settle", 0), None)
    json.dump({"results": results, "unattributed": unattributed}, sys.stdout)


if __name__ == "__main__":
    main()
