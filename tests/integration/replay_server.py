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
                if url.path == "/v7/finance/quote":
                    if query.get("crumb") != [CRUMB]:
                        self.send(401, json.dumps(INVALID_CRUMB).encode())
                        return
                    wanted = query.get("symbols", [""])[0].split(",")
                    with replay.lock:
                        for symbol in wanted:
                            replay.counts["quote:" + symbol] = replay.counts.get("quote:" + symbol, 0) + 1
                    known = json.loads((replay.shared / "fixtures" / "yahoo" / "yfinance-rs" /
                                        "quote_v7_AAPL-MSFT.json").read_text())["quoteResponse"]["result"]
                    result = [q for q in known if q["symbol"] in wanted]
                    self.send(200, json.dumps({"quoteResponse": {"result": result, "error": None}}).encode())
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


AV_INVALID_CALL = {"Error Message": "Invalid API call. Please retry or visit the documentation "
                                    "(https://www.alphavantage.co/documentation/) for TIME_SERIES_DAILY."}
AV_DAILY_QUOTA = {"Information": "We have detected your API key as XXXX and our standard API rate limit is 25 "
                                 "requests per day. Please subscribe to any of the premium plans at "
                                 "https://www.alphavantage.co/premium/ to instantly remove all daily rate limits."}
AV_BURST = {"Information": "Thank you for using Alpha Vantage! Please consider spreading out your free API requests "
                           "more sparingly (1 request per second). You may subscribe to any of the premium plans at "
                           "https://www.alphavantage.co/premium/ to lift the free key rate limit (25 requests per "
                           "day), raise the per-second burst limit, and instantly unlock all premium endpoints"}
AV_NOTE = {"Note": "Thank you for using Alpha Vantage! Our standard API call frequency is 5 calls per minute and 500 "
                   "calls per day. Please visit https://www.alphavantage.co/premium/ if you would like to target a "
                   "higher API call frequency."}
AV_PREMIUM = {"Information": "Thank you for using Alpha Vantage! This is a premium endpoint. You may subscribe to any "
                            "of the premium plans at https://www.alphavantage.co/premium/ to instantly unlock all "
                            "premium endpoints"}
AV_KEY = "TESTKEY123"


class AlphaVantageReplay(YahooReplay):
    """Answers like www.alphavantage.co/query: HTTP 200 for everything, errors included."""

    def _handler(self):
        replay = self
        base = super()._handler()

        class Handler(base):
            def do_GET(self):
                url = urlparse(self.path)
                query = {k: v[0] for k, v in parse_qs(url.query).items()}
                symbol = query.get("symbol", "")
                with replay.lock:
                    replay.requests.append(self.path)
                    n = replay.counts.get(symbol, 0) + 1
                    replay.counts[symbol] = n
                if url.path != "/query":
                    self.send(404, b"no such endpoint", "text/plain")
                    return
                if query.get("apikey") != AV_KEY:
                    self.send(200, json.dumps({"Error Message": "the parameter apikey is invalid or missing."}).encode())
                    return
                fixtures = replay.shared / "fixtures" / "alphavantage"
                csv = query.get("datatype") == "csv"
                if symbol == "AAPL" and query.get("function") == "TIME_SERIES_DAILY":
                    if csv:
                        self.send(200, b"timestamp,open,high,low,close,volume\r\n2025-07-18,210.87,211.79,209.70,211.18,48974591\r\n"
                                       b"2025-07-17,210.57,211.80,209.59,210.02,48068141\r\n", "application/x-download")
                    else:
                        self.send(200, (fixtures / "TylerG21566-hfmdp" / "AAPL_TIME_SERIES_DAILY_compact_2025-07-18.extracted.json").read_bytes())
                elif symbol == "IBM":
                    name = {"GLOBAL_QUOTE": "globalquote.json", "TIME_SERIES_INTRADAY": "intraday.json"}.get(
                        query.get("function"), "daily.json")
                    self.send(200, (fixtures / "crazzyghost-alphavantage-java" / name).read_bytes())
                elif symbol == "MSFT" and query.get("function") == "TIME_SERIES_INTRADAY":
                    self.send(200, (fixtures / "RomelTorres-alpha_vantage" / "mock_time_series.json").read_bytes())
                elif symbol == "MSFT" and query.get("function") == "GLOBAL_QUOTE":
                    self.send(200, (fixtures / "RomelTorres-alpha_vantage" / "global_quote.json").read_bytes())
                elif symbol == "NOPE" and query.get("function") == "GLOBAL_QUOTE":
                    self.send(200, b'{"Global Quote": {}}')
                elif symbol == "BADSYM":
                    self.send(200, json.dumps(AV_INVALID_CALL).encode())
                elif symbol == "QUOTA":
                    self.send(200, json.dumps(AV_DAILY_QUOTA).encode())
                elif symbol == "BURST":
                    body = AV_BURST if n == 1 else json.loads((fixtures / "crazzyghost-alphavantage-java" / "daily.json").read_text())
                    self.send(200, json.dumps(body).encode())
                elif symbol == "NOTE":
                    self.send(200, json.dumps(AV_NOTE).encode())
                elif symbol == "PREMIUM":
                    self.send(200, json.dumps(AV_PREMIUM).encode())
                else:
                    self.send(200, json.dumps(AV_INVALID_CALL).encode())

        return Handler
