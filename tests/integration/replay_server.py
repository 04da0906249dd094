"""A local HTTP server that answers like Yahoo Finance, for the connector tests.

Each symbol names a scenario: real captured responses from ../shared/fixtures,
and scripted failures in the real formats (research/market-apis.md section 1.5).
The server binds 127.0.0.1 on a free port, serves from a thread, and records
every request path so tests can count them.
"""
from __future__ import annotations

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlparse

NOT_FOUND = {"chart": {"result": None, "error": {"code": "Not Found",
                                                  "description": "No data found, symbol may be delisted"}}}
INVALID_CRUMB = {"finance": {"result": None, "error": {"code": "Unauthorized", "description": "Invalid Crumb"}}}
DEPTH_422 = {"chart": {"result": None, "error": {
    "code": "Unprocessable Entity",
    "description": "1m data not available for startTime=1 and endTime=2. "
                   "Only 8 days worth of 1m granularity data are allowed to be fetched per request."}}}
CRUMB = "Xy7zAbC1dEf"


def fixture_body(shared: Path, relative: str) -> bytes:
    """The Yahoo body of a fixture: node-yahoo-finance2 wraps it, yfinance-rs does not."""
    data = json.loads((shared / "fixtures" / "yahoo" / relative).read_text())
    if "response" in data and "bodyJson" in data["response"]:
        data = data["response"]["bodyJson"]
    return json.dumps(data).encode()


class YahooReplay:
    def __init__(self, shared: Path):
        self.shared = shared
        self.requests: list[str] = []
        self.counts: dict[str, int] = {}
        self.lock = threading.Lock()
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.server.shutdown()
        self.server.server_close()

    def count(self, symbol: str) -> int:
        with self.lock:
            return self.counts.get(symbol, 0)

    def _handler(self):
        replay = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):  # Quiet: pytest shows failures.
                pass

            def send(self, status, body: bytes, content_type="application/json;charset=utf-8", headers=None,
                     declared_length=None):
                self.send_response(status)
                self.send_header("Content-Type", content_type)
                self.send_header("Content-Length", str(declared_length if declared_length is not None else len(body)))
                for key, value in (headers or {}).items():
                    self.send_header(key, value)
                self.end_headers()
                self.wfile.write(body)

            def do_GET(self):
                url = urlparse(self.path)
                query = parse_qs(url.query)
                with replay.lock:
                    replay.requests.append(self.path)
                if url.path == "/cookie":
                    self.send(404, b"Not Found", "text/html", {"Set-Cookie": "A3=session-cookie; Path=/"})
                    return
                if url.path == "/v1/test/getcrumb":
                    has_cookie = "A3=session-cookie" in (self.headers.get("Cookie") or "")
                    self.send(200 if has_cookie else 401, CRUMB.encode() if has_cookie else b"", "text/plain")
                    return
                if not url.path.startswith("/v8/finance/chart/"):
                    self.send(404, b"no such endpoint", "text/plain")
                    return
                symbol = url.path.rsplit("/", 1)[1]
                with replay.lock:
                    n = replay.counts.get(symbol, 0) + 1
                    replay.counts[symbol] = n
                self.scenario(symbol, n, query)

            def scenario(self, symbol, n, query):
                shared = replay.shared
                if symbol == "AAPL":
                    self.send(200, fixture_body(shared, "yfinance-rs/history_chart_AAPL.json"))
                elif symbol == "NVDA":
                    self.send(200, fixture_body(shared, "node-yahoo-finance2/historical-via-chart-NVDA-split-2021-02-01-to-2022-01-31.csv.json"))
                elif symbol == "MSFT":
                    self.send(200, fixture_body(shared, "node-yahoo-finance2/historical-via-chart-MSFT-dividends-2021-02-01-to-2022-01-31.csv.json"))
                elif symbol == "WEEKEND":
                    self.send(200, fixture_body(shared, "node-yahoo-finance2/chart-AAPL-2025-02-01-to-2025-02-02-includePrePost-false-interval-1m.json"))
                elif symbol == "GONE":
                    self.send(404, json.dumps(NOT_FOUND).encode())
                elif symbol == "FLAKY":  # 500 once, then the real answer.
                    if n == 1:
                        self.send(500, b"Internal Server Error", "text/plain")
                    else:
                        self.send(200, fixture_body(shared, "yfinance-rs/history_chart_GS2C.DE.json"))
                elif symbol == "THROTTLED":  # 429 with Retry-After once.
                    if n == 1:
                        self.send(429, b"Too Many Requests", "text/plain", {"Retry-After": "1"})
                    else:
                        self.send(200, fixture_body(shared, "yfinance-rs/history_chart_GS2C.DE.json"))
                elif symbol == "CRUMBED":  # 401 Invalid Crumb until a crumb is sent.
                    if query.get("crumb") == [CRUMB]:
                        self.send(200, fixture_body(shared, "yfinance-rs/history_chart_GS2C.DE.json"))
                    else:
                        self.send(401, json.dumps(INVALID_CRUMB).encode())
                elif symbol == "TRUNCATED":  # Declares more bytes than it sends, then closes.
                    body = fixture_body(shared, "yfinance-rs/history_chart_AAPL.json")
                    self.send(200, body[:500], declared_length=len(body))
                    self.close_connection = True
                elif symbol == "NOTJSON":
                    self.send(200, b"<html><body>Will be right back...</body></html>", "text/html")
                elif symbol == "SHAPE":  # JSON, but arrays of different lengths.
                    self.send(200, json.dumps({"chart": {"result": [{"meta": {}, "timestamp": [1, 2],
                        "indicators": {"quote": [{"open": [1], "high": [1], "low": [1], "close": [1],
                                                  "volume": [1]}]}}], "error": None}}).encode())
                elif symbol == "DEEP":
                    self.send(422, json.dumps(DEPTH_422).encode())
                elif symbol == "SLOW":
                    time.sleep(3)
                    self.send(200, b"{}")
                else:
                    self.send(404, json.dumps(NOT_FOUND).encode())

        return Handler
