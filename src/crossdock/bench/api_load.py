"""The load generator of `crossdock bench api`, run in its own process: keep-alive HTTP/1.1 connections, each
sending one request at a time and waiting for its answer, for a fixed time after a warm-up.

Written on raw asyncio streams rather than an HTTP client library so that the generator, not the server, is the
cheap side: on two cores it shares the machine with the server it measures.

`python -m crossdock.bench.api_load <port> <path> <connections> <warmup_s> <seconds> <tokens-json> <output file>`
writes one JSON document to the output file: requests, seconds, latencies (each, and p50, p99) and the status
codes seen.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import sys
import time
import uuid
from pathlib import Path

ORDER = (
    '{"customer_reference":"%s","currency":"USD","ship_to":{"name":"Acme DC","lines":["100 Distribution Dr"],'
    '"city":"Columbus","region":"OH","postal_code":"43215","country":"US"},"lines":['
    '{"sku":"SKU-1001","quantity":"12","unit_price":"4.25"},{"sku":"SKU-2002","quantity":"1","uom":"CS",'
    '"unit_price":"80.00"},{"sku":"SKU-3003","quantity":"5","unit_price":"19.90"}]}'
)


def _request(path: str, token: str | None, reference: str) -> bytes:
    body = (ORDER % reference).encode()
    head = [
        f"POST {path} HTTP/1.1",
        "Host: 127.0.0.1",
        "Content-Type: application/json",
        f"Content-Length: {len(body)}",
    ]
    if token:
        head += [f"Authorization: Bearer {token}", f"Idempotency-Key: {reference}"]
    return ("\r\n".join(head) + "\r\n\r\n").encode() + body


async def _connection(
    port: int,
    path: str,
    token: str | None,
    start: float,
    warm_until: float,
    stop_at: float,
    stats: dict[str, list[float]],
) -> None:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    prefix = uuid.uuid4().hex[:8]
    latencies = stats["latencies"]
    codes = stats.setdefault("codes", [])
    accepted = stats.setdefault("accepted", [])
    for n in itertools.count():
        sent = time.perf_counter()
        if sent >= stop_at:
            break
        writer.write(_request(path, token, f"B{prefix}{n}"))
        head = await reader.readuntil(b"\r\n\r\n")
        status = int(head[9:12])
        length = 0
        for line in head.split(b"\r\n"):
            if line[:15].lower() == b"content-length:":
                length = int(line[15:])
        if length:
            await reader.readexactly(length)
        done = time.perf_counter()
        if status == 202:
            accepted.append(1.0)
        if sent >= warm_until:
            latencies.append((done - sent) * 1000)
            codes.append(status)
    writer.close()
    del start


async def _run(
    port: int, path: str, connections: int, warmup_s: float, seconds: float, tokens: list[str]
) -> dict[str, object]:
    stats: dict[str, list[float]] = {"latencies": []}
    start = time.perf_counter()
    warm_until = start + warmup_s
    stop_at = warm_until + seconds
    await asyncio.gather(
        *(
            _connection(port, path, tokens[n % len(tokens)] if tokens else None, start, warm_until, stop_at, stats)
            for n in range(connections)
        )
    )
    latencies = sorted(stats["latencies"])
    codes: dict[str, int] = {}
    for code in stats.get("codes", []):
        codes[str(int(code))] = codes.get(str(int(code)), 0) + 1
    return {
        "requests": len(latencies),
        "seconds": seconds,
        "p50_ms": latencies[len(latencies) // 2] if latencies else 0.0,
        "p99_ms": latencies[min(len(latencies) - 1, int(len(latencies) * 0.99))] if latencies else 0.0,
        "latencies_ms": [round(latency, 3) for latency in latencies],  # pooled over rounds by the bench
        "codes": codes,
        "accepted_total": len(stats.get("accepted", [])),  # warm-up included: every one must be in the log
    }


def main() -> None:
    """Run the load and write its figures to the file named last (they hold every latency: too much for a pipe
    that the event loop may have left non-blocking)."""
    port, path, connections = int(sys.argv[1]), sys.argv[2], int(sys.argv[3])
    warmup_s, seconds, tokens = float(sys.argv[4]), float(sys.argv[5]), json.loads(sys.argv[6])
    output = Path(sys.argv[7])
    try:
        import uvloop  # the cheaper loop, when installed (uvicorn[standard] brings it)

        result = uvloop.run(_run(port, path, connections, warmup_s, seconds, tokens))
    except ImportError:
        result = asyncio.run(_run(port, path, connections, warmup_s, seconds, tokens))
    output.write_text(json.dumps(result))


if __name__ == "__main__":
    main()
