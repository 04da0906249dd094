// The HTTP client every connector shares: an interface that connector tests can
// replace, and CurlHttpClient, its libcurl implementation with one source's policy
// (rate limits, concurrency, retries, pauses) built in.
//
// One CurlHttpClient per source: the policy, the pause after a 429, the quota
// counters, the connection pool and the cookie jar all belong to the source, so
// every connector and thread fetching from Yahoo shares Yahoo's client.
//
// Secrets: API keys, tokens and crumbs travel in query parameters or headers. The
// client never puts a header value or an unredacted URL in a log line, a Status or
// a metric; RedactUrl() is what callers use to show a URL anywhere else (a bronze
// table's request key, an error of their own).
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "finlake/core/clock.h"
#include "finlake/core/limits.h"
#include "finlake/core/metrics.h"
#include "finlake/core/sleeper.h"
#include "finlake/core/status.h"

namespace finlake {

// Header fields in order, names compared case-insensitively (RFC 9110 section 5.1).
// Not thread-safe; a value type.
class HttpHeaders {
 public:
  void Add(std::string name, std::string value) { fields_.emplace_back(std::move(name), std::move(value)); }
  // The first value under name, or nullopt.
  std::optional<std::string_view> Get(std::string_view name) const;
  // Every value under name, in order (Set-Cookie comes several times).
  std::vector<std::string_view> GetAll(std::string_view name) const;
  const std::vector<std::pair<std::string, std::string>>& fields() const { return fields_; }
  bool empty() const { return fields_.empty(); }

 private:
  std::vector<std::pair<std::string, std::string>> fields_;
};

struct HttpRequest {
  std::string method = "GET";  // GET, HEAD, POST, PUT, PATCH or DELETE.
  std::string url;             // http:// or https:// only.
  HttpHeaders headers;         // No CR or LF in names or values.
  std::string body;            // Sent for POST, PUT, PATCH and DELETE.
  // The whole attempt, connecting included; connecting alone gets at most
  // limits::kHttpConnectTimeoutMaxMs of it. 1 .. limits::kHttpTimeoutMaxMs.
  int64_t timeout_ms = limits::kHttpTimeoutDefaultMs;
};

// How a request ended; also the `outcome` label of finlake_http_requests_total,
// which counts every attempt sent plus every request refused for quota.
enum class HttpOutcome {
  kOk,              // 1xx, 2xx or 3xx (after redirects were followed).
  kClientError,     // 4xx other than 429: permanent, never retried.
  kServerError,     // 5xx.
  kNetworkError,    // No complete response: refused, reset, timed out, truncated.
  kRateLimited,     // 429.
  kQuotaExhausted,  // Refused before sending: the source's daily quota is spent.
};

// "ok", "client_error", "server_error", "network_error", "rate_limited", "quota_exhausted".
const char* HttpOutcomeName(HttpOutcome outcome);

struct HttpResponse {
  HttpOutcome outcome = HttpOutcome::kOk;
  int32_t status = 0;  // The final HTTP status; 0 when nothing was sent (kQuotaExhausted).
  HttpHeaders headers;  // Of the final response (after redirects).
  std::string body;     // Decoded (gzip and deflate are accepted).
  int32_t attempts = 0;  // Requests sent, retries included.
  int64_t elapsed_ms = 0;  // Wall time in Send(), waits included.
  // kQuotaExhausted only: the earliest instant (epoch ms) the quota admits a request.
  int64_t quota_available_at_ms = 0;
};

// Thread-safe: Send() may be called from any number of threads at once.
class HttpClient {
 public:
  virtual ~HttpClient() = default;

  // Sends the request under the source's policy, retrying what is worth retrying.
  // Every answer from the server comes back as a value, its outcome set: a 404 or a
  // 503 after the last retry is a response, not an error; so is kQuotaExhausted,
  // which sends nothing and lets the caller stop its universe cleanly. Errors:
  // InvalidArgument for a request that breaks the rules above; IOError when no
  // complete response arrived (after retries where the failure was transient) or the
  // response broke a size limit. Messages name the source, the method and the
  // redacted URL.
  virtual Result<HttpResponse> Send(const HttpRequest& request) = 0;

  // The vendor said the day's quota is spent (Alpha Vantage answers 200 with a note
  // instead of data): refuse every request with kQuotaExhausted until until_ms.
  virtual void ReportQuotaExhausted(int64_t until_ms) {}

  virtual const std::string& source() const = 0;
};

// What a source allows. Retries and backoff apply per request; rate limits and the
// 429 pause apply to the whole source.
struct SourcePolicy {
  std::string name;                 // The `source` metric label: [a-z0-9_]+, e.g. "yahoo".
  int64_t requests_per_minute = 0;  // 0: unlimited; else 1 .. kRateLimitRequestsPerMinuteMax.
  int64_t requests_per_day = 0;     // 0: unlimited. Alpha Vantage's free tier: 25.
  int max_concurrency = 4;          // 1 .. kHttpConcurrencyMax.
  int max_retries = 3;              // 0 .. kHttpRetriesMax; attempts = 1 + retries.
  int64_t backoff_initial_ms = 500;  // The first retry waits up to this (full jitter).
  int64_t backoff_max_ms = 30000;    // No wait grows beyond this; <= kHttpBackoffMaxMs.
};

struct CurlHttpClientOptions {
  // Rate-limit windows, pauses and Retry-After dates read this clock and wait with
  // this sleeper; both must outlive the client.
  const Clock* clock = &SystemClock();
  Sleeper* sleeper = &SystemSleeper();
  // Where the finlake_http_* metrics go; must outlive the client.
  MetricsRegistry* metrics = &DefaultMetricsRegistry();
  // Receives one line per retry, pause, refusal and final failure, already redacted.
  // Empty: silent. Called from the sending thread.
  std::function<void(std::string_view line)> log;
  // Backoff jitter: returns a wait in [0, ceiling_ms]. Empty: uniform random (full
  // jitter, as in "Exponential Backoff And Jitter", AWS Architecture Blog, 2015).
  std::function<int64_t(int64_t ceiling_ms)> jitter_ms;
  std::string user_agent = "finlake";
  // Decoded body bytes above which a response is refused (not retried).
  int64_t response_bytes_max = limits::kHttpResponseBytesMax;
};

// HttpClient on libcurl for one source.
//
// Attempts: connection reuse through a pool of easy handles sharing one connection
// cache, DNS cache, TLS session cache and in-memory cookie jar (Yahoo's crumb
// handshake needs its cookies back); redirects followed up to kHttpRedirectsMax over
// http and https only; gzip and deflate accepted; bodies over response_bytes_max
// refused.
//
// Retries (up to policy.max_retries): 429, 500, 502, 503 and 504, and transient
// network failures (timeouts, refused or reset connections, DNS failures, truncated
// bodies). Each retry waits with exponential backoff and full jitter, or for the
// response's Retry-After (seconds or an HTTP-date) up to kHttpRetryAfterMaxMs. A
// 429 pauses the whole source for that wait: every thread using this client waits
// until the pause ends. Other 4xx, TLS certificate failures, bad URLs and size
// limits are permanent and returned at once. Every attempt passes the rate limiter
// and counts against the per-minute and per-day quotas.
//
// Thread-safe. Destroy it only when no Send() is running.
class CurlHttpClient final : public HttpClient {
 public:
  // InvalidArgument for a policy outside the limits above; Internal when libcurl
  // cannot be set up or the metrics cannot be registered.
  static Result<std::unique_ptr<CurlHttpClient>> Create(SourcePolicy policy,
                                                        CurlHttpClientOptions options = {});
  ~CurlHttpClient() override;

  Result<HttpResponse> Send(const HttpRequest& request) override;
  void ReportQuotaExhausted(int64_t until_ms) override;
  const std::string& source() const override;

 private:
  class Impl;
  explicit CurlHttpClient(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

// The URL with the values of secret-looking query parameters replaced by `***`, and
// a password in the authority too. A parameter is secret-looking when its decoded,
// lower-cased name contains key, token, secret, password, passwd, crumb, signature,
// credential or session (apikey, api_key, access_token, client_secret, ...): a
// harmless parameter redacted by mistake costs nothing, a leaked key costs a lot.
std::string RedactUrl(std::string_view url);

// Whether RedactUrl hides the value of a query parameter with this (raw) name.
bool IsSecretParameterName(std::string_view raw_name);

// The delay a Retry-After value asks for, in ms from now_ms: delta-seconds or an
// HTTP-date (RFC 9110 section 10.2.3), a date in the past meaning 0. nullopt when
// the value is neither.
std::optional<int64_t> ParseRetryAfterMs(std::string_view value, int64_t now_ms);

}  // namespace finlake
