// CurlHttpClient: libcurl's easy interface, one pooled easy handle per request in
// flight, under the source policy of http_client.h.
#include <curl/curl.h>

#include <algorithm>
#include <array>
#include <cassert>
#include <cctype>
#include <chrono>
#include <map>
#include <mutex>
#include <random>
#include <tuple>

#include "finlake/core/http_client.h"
#include "finlake/core/limits.h"
#include "finlake/core/rate_limiter.h"
#include "finlake/core/strings.h"

// CURLOPT_PROTOCOLS_STR and CURLOPT_REDIR_PROTOCOLS_STR arrived in 7.85.
#if LIBCURL_VERSION_NUM < 0x075500
#error "CurlHttpClient needs libcurl 7.85 or newer"
#endif

namespace finlake {

namespace {

constexpr std::array<std::string_view, 6> kMethods = {"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE"};
constexpr std::array<HttpOutcome, 6> kOutcomes = {HttpOutcome::kOk,           HttpOutcome::kClientError,
                                                  HttpOutcome::kServerError,  HttpOutcome::kNetworkError,
                                                  HttpOutcome::kRateLimited,  HttpOutcome::kQuotaExhausted};
static_assert(static_cast<size_t>(HttpOutcome::kQuotaExhausted) == kOutcomes.size() - 1,
              "kOutcomes lists HttpOutcome in declaration order: it is indexed by the enum");

// Secrets shorter than this are not scrubbed from free text: replacing every "ab" in
// a message would garble it, and a two-letter value is no secret.
constexpr size_t kScrubbedSecretLengthMin = 4;

// curl_global_init is not thread-safe in every libcurl build; it runs once.
Status GlobalInitOnce() {
  static std::once_flag once;
  static CURLcode code = CURLE_OK;
  std::call_once(once, [] { code = curl_global_init(CURL_GLOBAL_DEFAULT); });
  if (code != CURLE_OK) {
    return Status::Internal(std::string("curl_global_init failed: ") + curl_easy_strerror(code));
  }
  return Status::Ok();
}

bool IsRetryableStatus(int32_t status) {
  return status == 429 || status == 500 || status == 502 || status == 503 || status == 504;
}

HttpOutcome OutcomeOfStatus(int32_t status) {
  if (status == 429) return HttpOutcome::kRateLimited;
  if (status >= 500) return HttpOutcome::kServerError;
  if (status >= 400) return HttpOutcome::kClientError;
  return HttpOutcome::kOk;
}

// Transient failures worth another attempt. Anything else (a bad URL, an untrusted
// certificate, a redirect loop, our own size limits) fails the same way again.
bool IsRetryableCurlCode(CURLcode code) {
  switch (code) {
    case CURLE_OPERATION_TIMEDOUT:
    case CURLE_COULDNT_CONNECT:
    case CURLE_COULDNT_RESOLVE_HOST:
    case CURLE_COULDNT_RESOLVE_PROXY:
    case CURLE_GOT_NOTHING:
    case CURLE_SEND_ERROR:
    case CURLE_RECV_ERROR:
    case CURLE_PARTIAL_FILE:
    case CURLE_SSL_CONNECT_ERROR:
    case CURLE_HTTP2:
    case CURLE_HTTP2_STREAM:
      return true;
    default:
      return false;
  }
}

bool IsTokenChar(char c) {
  // RFC 9110 section 5.6.2: tchar.
  return std::isalnum(static_cast<unsigned char>(c)) ||
         std::string_view("!#$%&'*+-.^_`|~").find(c) != std::string_view::npos;
}

// Header names whose values are credentials (never logged, scrubbed from messages).
bool IsSecretHeaderName(std::string_view name) {
  std::string lower = ToLower(name);
  for (std::string_view word : {"authorization", "cookie", "key", "token", "secret", "crumb", "session"}) {
    if (lower.find(word) != std::string::npos) return true;
  }
  return false;
}

// Everything a message could leak from this request: the values of secret query
// parameters and secret headers.
std::vector<std::string> SecretsOf(const HttpRequest& request) {
  std::vector<std::string> secrets;
  std::string_view url = request.url;
  size_t question = url.find('?');
  if (question != std::string_view::npos) {
    std::string_view query = url.substr(question + 1);
    query = query.substr(0, query.find('#'));
    for (const std::string& pair : Split(query, '&')) {
      size_t equals = pair.find('=');
      if (equals == std::string::npos) continue;
      if (!IsSecretParameterName(std::string_view(pair).substr(0, equals))) continue;
      std::string raw = pair.substr(equals + 1);
      secrets.push_back(raw);
      std::string decoded;
      if (PercentDecode(raw, &decoded) && decoded != raw) secrets.push_back(decoded);
    }
  }
  for (const auto& [name, value] : request.headers.fields()) {
    if (IsSecretHeaderName(name)) {
      secrets.push_back(value);
      // "Bearer <token>": the token alone may show up too.
      size_t space = value.rfind(' ');
      if (space != std::string::npos) secrets.push_back(value.substr(space + 1));
    }
  }
  return secrets;
}

// Replaces every occurrence of a secret in text with ***: libcurl's error texts are
// not ours, so they are scrubbed even though none is known to echo a query.
std::string Scrub(std::string text, const std::vector<std::string>& secrets) {
  for (const std::string& secret : secrets) {
    if (secret.size() < kScrubbedSecretLengthMin) continue;
    for (size_t at = text.find(secret); at != std::string::npos; at = text.find(secret, at + 3)) {
      text.replace(at, secret.size(), "***");
    }
  }
  return text;
}

// A cookie's identity in libcurl's Netscape-format lines: domain, path, name
// (fields 0, 2 and 5 of "domain TAILMATCH path secure expires name value").
using CookieKey = std::tuple<std::string, std::string, std::string>;

std::map<CookieKey, std::string> ParseCookieList(curl_slist* list) {
  std::map<CookieKey, std::string> cookies;
  for (curl_slist* item = list; item != nullptr; item = item->next) {
    std::string line = item->data;
    std::vector<std::string> fields = Split(line, '\t');
    if (fields.size() < 7) continue;
    cookies[{fields[0], fields[2], fields[5]}] = line;
  }
  return cookies;
}

// What one attempt's callbacks collect.
struct Transfer {
  std::string body;
  HttpHeaders headers;
  int64_t body_bytes_max = 0;
  int64_t header_bytes = 0;
  bool body_too_large = false;
  bool headers_too_large = false;
};

size_t OnBody(char* data, size_t size, size_t count, void* user) {
  auto* transfer = static_cast<Transfer*>(user);
  size_t bytes = size * count;
  // Counted after decoding, so a small gzip bomb cannot inflate past the limit.
  if (static_cast<int64_t>(transfer->body.size() + bytes) > transfer->body_bytes_max) {
    transfer->body_too_large = true;
    return 0;  // Anything but `bytes` aborts the transfer with CURLE_WRITE_ERROR.
  }
  transfer->body.append(data, bytes);
  return bytes;
}

size_t OnHeader(char* data, size_t size, size_t count, void* user) {
  auto* transfer = static_cast<Transfer*>(user);
  size_t bytes = size * count;
  transfer->header_bytes += static_cast<int64_t>(bytes);
  if (transfer->header_bytes > limits::kHttpResponseHeaderBytesMax) {
    transfer->headers_too_large = true;
    return 0;
  }
  std::string_view line(data, bytes);
  while (!line.empty() && (line.back() == '\n' || line.back() == '\r')) line.remove_suffix(1);
  // A status line starts a new response (a redirect, a 100 Continue): only the
  // final response's headers are kept.
  if (StartsWith(line, "HTTP/")) {
    transfer->headers = HttpHeaders();
    return bytes;
  }
  size_t colon = line.find(':');
  if (colon == std::string_view::npos || colon == 0) return bytes;
  std::string_view value = line.substr(colon + 1);
  while (!value.empty() && (value.front() == ' ' || value.front() == '\t')) value.remove_prefix(1);
  while (!value.empty() && (value.back() == ' ' || value.back() == '\t')) value.remove_suffix(1);
  transfer->headers.Add(std::string(line.substr(0, colon)), std::string(value));
  return bytes;
}

struct SlistDeleter {
  void operator()(curl_slist* list) const { curl_slist_free_all(list); }
};
using Slist = std::unique_ptr<curl_slist, SlistDeleter>;

// The request's header lines for CURLOPT_HTTPHEADER; nullptr when out of memory.
Slist BuildHeaderList(const HttpHeaders& headers) {
  std::vector<std::string> lines;
  for (const auto& [name, value] : headers.fields()) {
    // "Name;" is libcurl's way to send a header with an empty value.
    lines.push_back(value.empty() ? name + ";" : name + ": " + value);
  }
  // libcurl waits up to a second for "100 Continue" before sending a large body;
  // vendors' APIs do not need the handshake.
  lines.push_back("Expect:");
  curl_slist* list = nullptr;
  for (const std::string& line : lines) {
    curl_slist* appended = curl_slist_append(list, line.c_str());
    if (appended == nullptr) {
      curl_slist_free_all(list);
      return nullptr;
    }
    list = appended;
  }
  return Slist(list);
}

}  // namespace

class CurlHttpClient::Impl {
 public:
  Impl(SourcePolicy policy, CurlHttpClientOptions options)
      : policy_(std::move(policy)),
        options_(std::move(options)),
        limiter_(RateLimits{policy_.requests_per_minute, policy_.requests_per_day, policy_.max_concurrency},
                 options_.clock, options_.sleeper),
        random_(std::random_device{}()) {}

  ~Impl() {
    for (CURL* handle : idle_handles_) curl_easy_cleanup(handle);
    if (share_ != nullptr) curl_share_cleanup(share_);
  }

  Status Init();
  Result<HttpResponse> Send(const HttpRequest& request);

  void ReportQuotaExhausted(int64_t until_ms) {
    limiter_.ExhaustQuotaUntil(until_ms);
    Log(policy_.name + ": the vendor reports the daily quota spent; refusing requests until " +
        FormatIsoMillis(until_ms));
  }

  const std::string& source() const { return policy_.name; }

 private:
  struct Attempt {
    CURLcode code = CURLE_OK;
    std::string error_detail;  // libcurl's error buffer, not yet scrubbed.
    int32_t status = 0;
    Transfer transfer;
  };

  static void LockShare(CURL*, curl_lock_data data, curl_lock_access, void* user) {
    static_cast<Impl*>(user)->share_locks_[data].lock();
  }
  static void UnlockShare(CURL*, curl_lock_data data, void* user) {
    static_cast<Impl*>(user)->share_locks_[data].unlock();
  }

  Status ValidateRequest(const HttpRequest& request, const std::string& context) const;
  CURL* AcquireHandle();
  void ReleaseHandle(CURL* handle);
  Attempt Perform(CURL* handle, const HttpRequest& request, curl_slist* headers);
  void ImportCookies(CURL* handle, std::map<CookieKey, std::string>* imported);
  void ExportCookies(CURL* handle, const std::map<CookieKey, std::string>& imported);
  // The backoff before the given retry (1-based): initial * 2^(retry-1) capped at
  // backoff_max_ms, and BackoffMs a jittered wait in [0, that].
  int64_t BackoffCeilingMs(int retry) const;
  int64_t BackoffMs(int retry);
  std::string DescribeFailure(const Attempt& attempt, const HttpRequest& request) const;
  void Count(HttpOutcome outcome) { requests_by_outcome_[static_cast<size_t>(outcome)]->Increment(); }
  void Log(const std::string& line) const {
    if (options_.log) options_.log(line);
  }

  const SourcePolicy policy_;
  const CurlHttpClientOptions options_;
  RateLimiter limiter_;

  // DNS and TLS sessions are shared between the pooled handles. Connections are not:
  // libcurl does not support one connection cache used by concurrent threads, so each
  // handle keeps its own and the pool hands the most recently used handle out first.
  // Cookies are not shared through libcurl either (also unsupported across threads);
  // cookie_jar_ below carries them from handle to handle.
  CURLSH* share_ = nullptr;
  std::array<std::mutex, CURL_LOCK_DATA_LAST> share_locks_;

  std::mutex handles_mutex_;
  std::vector<CURL*> idle_handles_;  // At most max_concurrency. Guarded by handles_mutex_.

  std::mutex cookies_mutex_;
  std::map<CookieKey, std::string> cookie_jar_;  // Netscape-format lines. Guarded by cookies_mutex_.

  std::mutex random_mutex_;
  std::mt19937_64 random_;  // Guarded by random_mutex_.

  std::array<Counter*, kOutcomes.size()> requests_by_outcome_{};
  Counter* retries_ = nullptr;
  Histogram* request_seconds_ = nullptr;
};

Status CurlHttpClient::Impl::Init() {
  RETURN_IF_ERROR(GlobalInitOnce());
  share_ = curl_share_init();
  if (share_ == nullptr) return Status::Internal(policy_.name + ": curl_share_init failed");
  bool ok = curl_share_setopt(share_, CURLSHOPT_LOCKFUNC, &Impl::LockShare) == CURLSHE_OK &&
            curl_share_setopt(share_, CURLSHOPT_UNLOCKFUNC, &Impl::UnlockShare) == CURLSHE_OK &&
            curl_share_setopt(share_, CURLSHOPT_USERDATA, this) == CURLSHE_OK &&
            curl_share_setopt(share_, CURLSHOPT_SHARE, CURL_LOCK_DATA_DNS) == CURLSHE_OK &&
            curl_share_setopt(share_, CURLSHOPT_SHARE, CURL_LOCK_DATA_SSL_SESSION) == CURLSHE_OK;
  if (!ok) return Status::Internal(policy_.name + ": curl_share_setopt failed");

  MetricsRegistry* metrics = options_.metrics;
  ASSIGN_OR_RETURN(CounterFamily * requests,
                   metrics->AddCounter("finlake_http_requests_total",
                                       "HTTP requests sent to a source by outcome; quota_exhausted counts "
                                       "requests refused before sending",
                                       {"source", "outcome"}));
  for (size_t i = 0; i < kOutcomes.size(); ++i) {
    requests_by_outcome_[i] = &requests->WithLabels({policy_.name, HttpOutcomeName(kOutcomes[i])});
  }
  ASSIGN_OR_RETURN(CounterFamily * retries,
                   metrics->AddCounter("finlake_http_retries_total", "HTTP attempts that were retried", {"source"}));
  retries_ = &retries->WithLabels({policy_.name});
  ASSIGN_OR_RETURN(HistogramFamily * seconds,
                   metrics->AddHistogram("finlake_http_request_seconds", "Duration of one HTTP attempt",
                                         {"source"}, LatencySecondsBuckets()));
  request_seconds_ = &seconds->WithLabels({policy_.name});
  return Status::Ok();
}

Status CurlHttpClient::Impl::ValidateRequest(const HttpRequest& request, const std::string& context) const {
  if (std::find(kMethods.begin(), kMethods.end(), request.method) == kMethods.end()) {
    return Status::InvalidArgument(context + ": method must be one of GET, HEAD, POST, PUT, PATCH, DELETE");
  }
  std::string lower = ToLower(request.url.substr(0, 8));
  if (!StartsWith(lower, "http://") && !StartsWith(lower, "https://")) {
    return Status::InvalidArgument(context + ": only http:// and https:// URLs are fetched");
  }
  if (std::any_of(request.url.begin(), request.url.end(),
                  [](char c) { return static_cast<unsigned char>(c) <= ' ' || c == 0x7f; })) {
    return Status::InvalidArgument(context + ": the URL holds a space or a control character (percent-encode it)");
  }
  if (request.timeout_ms < 1 || request.timeout_ms > limits::kHttpTimeoutMaxMs) {
    return Status::InvalidArgument(context + ": timeout_ms " + std::to_string(request.timeout_ms) +
                                   " is outside 1.." + std::to_string(limits::kHttpTimeoutMaxMs));
  }
  for (const auto& [name, value] : request.headers.fields()) {
    if (name.empty() || !std::all_of(name.begin(), name.end(), IsTokenChar)) {
      return Status::InvalidArgument(context + ": header name '" + name + "' is not an HTTP token");
    }
    // A CR or LF would let a value inject headers. The value itself is not shown: it
    // may be a credential.
    if (value.find_first_of(std::string_view("\r\n\0", 3)) != std::string::npos) {
      return Status::InvalidArgument(context + ": the value of header '" + name + "' holds CR, LF or NUL");
    }
  }
  return Status::Ok();
}

CURL* CurlHttpClient::Impl::AcquireHandle() {
  {
    std::lock_guard<std::mutex> lock(handles_mutex_);
    if (!idle_handles_.empty()) {
      CURL* handle = idle_handles_.back();
      idle_handles_.pop_back();
      return handle;
    }
  }
  return curl_easy_init();
}

void CurlHttpClient::Impl::ReleaseHandle(CURL* handle) {
  std::lock_guard<std::mutex> lock(handles_mutex_);
  // The concurrency slot bounds the handles out at once, so the pool never grows
  // beyond max_concurrency.
  assert(idle_handles_.size() < static_cast<size_t>(policy_.max_concurrency));
  idle_handles_.push_back(handle);
}

void CurlHttpClient::Impl::ImportCookies(CURL* handle, std::map<CookieKey, std::string>* imported) {
  curl_easy_setopt(handle, CURLOPT_COOKIELIST, "ALL");
  std::lock_guard<std::mutex> lock(cookies_mutex_);
  *imported = cookie_jar_;
  for (const auto& [key, line] : cookie_jar_) curl_easy_setopt(handle, CURLOPT_COOKIELIST, line.c_str());
}

void CurlHttpClient::Impl::ExportCookies(CURL* handle, const std::map<CookieKey, std::string>& imported) {
  curl_slist* list = nullptr;
  if (curl_easy_getinfo(handle, CURLINFO_COOKIELIST, &list) != CURLE_OK) return;
  std::map<CookieKey, std::string> now = ParseCookieList(list);
  curl_slist_free_all(list);
  // Only what this transfer changed goes back to the jar, so a concurrent transfer's
  // newer cookie is not overwritten by the stale copy this handle started with.
  std::lock_guard<std::mutex> lock(cookies_mutex_);
  for (const auto& [key, line] : now) {
    auto before = imported.find(key);
    if (before == imported.end() || before->second != line) cookie_jar_[key] = line;
  }
  for (const auto& [key, line] : imported) {
    if (now.count(key) != 0) continue;
    auto current = cookie_jar_.find(key);
    if (current != cookie_jar_.end() && current->second == line) cookie_jar_.erase(current);
  }
}

CurlHttpClient::Impl::Attempt CurlHttpClient::Impl::Perform(CURL* handle, const HttpRequest& request,
                                                             curl_slist* headers) {
  Attempt attempt;
  attempt.transfer.body_bytes_max = options_.response_bytes_max;
  char error_buffer[CURL_ERROR_SIZE] = {0};

  // libcurl 7.88 leaks the cookie file list set by CURLOPT_COOKIEFILE when a handle
  // is reset (curl/curl#10694, fixed in 8.0); clearing the option first frees it.
  curl_easy_setopt(handle, CURLOPT_COOKIEFILE, static_cast<const char*>(nullptr));
  // A reset handle keeps its live connections, DNS and TLS caches (curl_easy_reset(3)).
  curl_easy_reset(handle);
  curl_easy_setopt(handle, CURLOPT_URL, request.url.c_str());
  curl_easy_setopt(handle, CURLOPT_SHARE, share_);
  curl_easy_setopt(handle, CURLOPT_NOSIGNAL, 1L);  // Timeouts without SIGALRM: we are multi-threaded.
  curl_easy_setopt(handle, CURLOPT_ERRORBUFFER, error_buffer);
  curl_easy_setopt(handle, CURLOPT_PROTOCOLS_STR, "http,https");
  curl_easy_setopt(handle, CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
  curl_easy_setopt(handle, CURLOPT_FOLLOWLOCATION, 1L);
  curl_easy_setopt(handle, CURLOPT_MAXREDIRS, static_cast<long>(limits::kHttpRedirectsMax));
  curl_easy_setopt(handle, CURLOPT_TIMEOUT_MS, static_cast<long>(request.timeout_ms));
  curl_easy_setopt(handle, CURLOPT_CONNECTTIMEOUT_MS,
                   static_cast<long>(std::min(request.timeout_ms, limits::kHttpConnectTimeoutMaxMs)));
  curl_easy_setopt(handle, CURLOPT_TCP_KEEPALIVE, 1L);
  curl_easy_setopt(handle, CURLOPT_ACCEPT_ENCODING, "");  // Every encoding this libcurl decodes.
  curl_easy_setopt(handle, CURLOPT_MAXFILESIZE_LARGE, static_cast<curl_off_t>(options_.response_bytes_max));
  curl_easy_setopt(handle, CURLOPT_USERAGENT, options_.user_agent.c_str());
  curl_easy_setopt(handle, CURLOPT_COOKIEFILE, "");  // The in-memory cookie engine, no file.
  curl_easy_setopt(handle, CURLOPT_HTTPHEADER, headers);
  curl_easy_setopt(handle, CURLOPT_WRITEFUNCTION, &OnBody);
  curl_easy_setopt(handle, CURLOPT_WRITEDATA, &attempt.transfer);
  curl_easy_setopt(handle, CURLOPT_HEADERFUNCTION, &OnHeader);
  curl_easy_setopt(handle, CURLOPT_HEADERDATA, &attempt.transfer);
  if (request.method == "HEAD") {
    curl_easy_setopt(handle, CURLOPT_NOBODY, 1L);
  } else if (request.method == "POST") {
    curl_easy_setopt(handle, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(request.body.size()));
    curl_easy_setopt(handle, CURLOPT_POSTFIELDS, request.body.data());
  } else if (request.method != "GET") {
    curl_easy_setopt(handle, CURLOPT_CUSTOMREQUEST, request.method.c_str());
    if (!request.body.empty()) {
      curl_easy_setopt(handle, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(request.body.size()));
      curl_easy_setopt(handle, CURLOPT_POSTFIELDS, request.body.data());
    }
  }

  std::map<CookieKey, std::string> imported;
  ImportCookies(handle, &imported);
  attempt.code = curl_easy_perform(handle);
  ExportCookies(handle, imported);

  attempt.error_detail = error_buffer;
  long status = 0;
  curl_easy_getinfo(handle, CURLINFO_RESPONSE_CODE, &status);
  attempt.status = static_cast<int32_t>(status);
  // The handle must not point at this stack frame once the attempt returns.
  curl_easy_setopt(handle, CURLOPT_ERRORBUFFER, nullptr);
  curl_easy_setopt(handle, CURLOPT_HTTPHEADER, nullptr);
  return attempt;
}

int64_t CurlHttpClient::Impl::BackoffCeilingMs(int retry) const {
  assert(retry >= 1);
  // backoff_initial_ms <= kHttpBackoffMaxMs (5 min), so the shift cannot overflow.
  int shift = std::min(retry - 1, 30);
  return std::min(policy_.backoff_max_ms, policy_.backoff_initial_ms << shift);
}

int64_t CurlHttpClient::Impl::BackoffMs(int retry) {
  const int64_t ceiling = BackoffCeilingMs(retry);
  if (options_.jitter_ms) return std::clamp<int64_t>(options_.jitter_ms(ceiling), 0, ceiling);
  std::lock_guard<std::mutex> lock(random_mutex_);
  return std::uniform_int_distribution<int64_t>(0, ceiling)(random_);
}

std::string CurlHttpClient::Impl::DescribeFailure(const Attempt& attempt, const HttpRequest& request) const {
  const Transfer& transfer = attempt.transfer;
  if (transfer.body_too_large || attempt.code == CURLE_FILESIZE_EXCEEDED) {
    return "response body larger than " + std::to_string(options_.response_bytes_max) +
           " bytes [kHttpResponseBytesMax]";
  }
  if (transfer.headers_too_large) {
    return "response headers larger than " + std::to_string(limits::kHttpResponseHeaderBytesMax) +
           " bytes [kHttpResponseHeaderBytesMax]";
  }
  std::string what;
  switch (attempt.code) {
    case CURLE_OPERATION_TIMEDOUT:
      what = "timed out after " + std::to_string(request.timeout_ms) + " ms";
      break;
    case CURLE_COULDNT_CONNECT:
      what = "could not connect";
      break;
    case CURLE_COULDNT_RESOLVE_HOST:
      what = "could not resolve the host";
      break;
    case CURLE_PARTIAL_FILE:
      what = "connection closed before the body was complete";
      break;
    case CURLE_GOT_NOTHING:
      what = "connection closed without a response";
      break;
    case CURLE_SEND_ERROR:
    case CURLE_RECV_ERROR:
      what = "connection reset";
      break;
    case CURLE_TOO_MANY_REDIRECTS:
      what = "more than " + std::to_string(limits::kHttpRedirectsMax) + " redirects [kHttpRedirectsMax]";
      break;
    case CURLE_PEER_FAILED_VERIFICATION:
      what = "the server's TLS certificate is not trusted";
      break;
    default:
      what = curl_easy_strerror(attempt.code);
      break;
  }
  if (!attempt.error_detail.empty()) what += " (" + attempt.error_detail + ")";
  return what;
}

Result<HttpResponse> CurlHttpClient::Impl::Send(const HttpRequest& request) {
  const auto started = std::chrono::steady_clock::now();
  auto elapsed_ms = [&] {
    return static_cast<int64_t>(
        std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - started).count());
  };
  // Every message names the source, the method and the URL with its secrets hidden;
  // Scrub() is the second wall for text that is not ours.
  const std::string context = policy_.name + ": " + request.method + " " + RedactUrl(request.url);
  const std::vector<std::string> secrets = SecretsOf(request);
  RETURN_IF_ERROR(ValidateRequest(request, context));

  Slist headers = BuildHeaderList(request.headers);
  if (headers == nullptr) return Status::Internal(context + ": out of memory building the header list");

  RateLimiter::Slot slot = limiter_.AcquireSlot();
  const int attempts_max = policy_.max_retries + 1;
  int attempts = 0;
  // Bounded by attempts_max: every round sends once, and the last round returns.
  while (true) {
    ASSIGN_OR_RETURN(RateLimiter::Admission admission, limiter_.Admit());
    if (!admission.admitted) {
      Count(HttpOutcome::kQuotaExhausted);
      Log(context + ": the daily quota is spent; not sent (available again at " +
          FormatIsoMillis(admission.quota_available_at_ms) + ")");
      HttpResponse refused;
      refused.outcome = HttpOutcome::kQuotaExhausted;
      refused.attempts = attempts;
      refused.elapsed_ms = elapsed_ms();
      refused.quota_available_at_ms = admission.quota_available_at_ms;
      return refused;
    }

    ++attempts;
    CURL* handle = AcquireHandle();
    if (handle == nullptr) return Status::Internal(context + ": curl_easy_init failed");
    const auto attempt_started = std::chrono::steady_clock::now();
    Attempt attempt = Perform(handle, request, headers.get());
    ReleaseHandle(handle);
    request_seconds_->Observe(
        std::chrono::duration<double>(std::chrono::steady_clock::now() - attempt_started).count());

    const std::string attempt_text = " (attempt " + std::to_string(attempts) + " of " +
                                     std::to_string(attempts_max) + ")";
    int64_t wait_ms = 0;
    bool size_limit = attempt.transfer.body_too_large || attempt.transfer.headers_too_large;
    if (attempt.code != CURLE_OK || size_limit) {
      Count(HttpOutcome::kNetworkError);
      std::string failure = Scrub(DescribeFailure(attempt, request), secrets);
      if (size_limit || !IsRetryableCurlCode(attempt.code) || attempts >= attempts_max) {
        std::string message = context + ": " + failure + "; gave up after " + std::to_string(attempts) +
                              (attempts == 1 ? " attempt" : " attempts");
        Log(message);
        return Status::IOError(message);
      }
      wait_ms = BackoffMs(attempts);
      Log(context + ": " + failure + attempt_text + "; retrying in " + std::to_string(wait_ms) + " ms");
    } else {
      const HttpOutcome outcome = OutcomeOfStatus(attempt.status);
      Count(outcome);
      if (!IsRetryableStatus(attempt.status) || attempts >= attempts_max) {
        if (outcome != HttpOutcome::kOk) {
          Log(context + ": HTTP " + std::to_string(attempt.status) + attempt_text +
              (IsRetryableStatus(attempt.status) ? "; retries exhausted" : "; not retried"));
        }
        HttpResponse response;
        response.outcome = outcome;
        response.status = attempt.status;
        response.headers = std::move(attempt.transfer.headers);
        response.body = std::move(attempt.transfer.body);
        response.attempts = attempts;
        response.elapsed_ms = elapsed_ms();
        return response;
      }
      std::optional<int64_t> retry_after;
      if (auto value = attempt.transfer.headers.Get("Retry-After")) {
        retry_after = ParseRetryAfterMs(*value, options_.clock->NowMillis());
      }
      if (attempt.status == 429) {
        // The vendor throttles the source, not this request: everyone waits, and the
        // limiter's Admit() does the waiting, this thread's included. Without a
        // Retry-After the pause is the backoff's ceiling: jitter spreads out clients
        // that retry on their own, while here one pause holds them all.
        wait_ms = retry_after ? std::min(*retry_after, limits::kHttpRetryAfterMaxMs) : BackoffCeilingMs(attempts);
        limiter_.PauseUntil(options_.clock->NowMillis() + wait_ms);
        Log(context + ": HTTP 429" + attempt_text + "; source paused for " + std::to_string(wait_ms) + " ms");
        wait_ms = 0;
      } else {
        wait_ms = retry_after ? std::min(*retry_after, limits::kHttpRetryAfterMaxMs) : BackoffMs(attempts);
        Log(context + ": HTTP " + std::to_string(attempt.status) + attempt_text + "; retrying in " +
            std::to_string(wait_ms) + " ms");
      }
    }
    retries_->Increment();
    if (wait_ms > 0) options_.sleeper->SleepForMillis(wait_ms);
  }
}

Result<std::unique_ptr<CurlHttpClient>> CurlHttpClient::Create(SourcePolicy policy, CurlHttpClientOptions options) {
  const std::string context = "http source '" + policy.name + "'";
  bool name_ok = !policy.name.empty() && std::all_of(policy.name.begin(), policy.name.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_';
  });
  if (!name_ok) return Status::InvalidArgument(context + ": the name must match [a-z0-9_]+ (it is a metric label)");
  if (policy.requests_per_minute < 0 || policy.requests_per_minute > limits::kRateLimitRequestsPerMinuteMax) {
    return Status::InvalidArgument(context + ": requests_per_minute must be 0 (unlimited) .. " +
                                   std::to_string(limits::kRateLimitRequestsPerMinuteMax));
  }
  if (policy.requests_per_day < 0) {
    return Status::InvalidArgument(context + ": requests_per_day must be 0 (unlimited) or more");
  }
  if (policy.max_concurrency < 1 || policy.max_concurrency > limits::kHttpConcurrencyMax) {
    return Status::InvalidArgument(context + ": max_concurrency must be 1.." +
                                   std::to_string(limits::kHttpConcurrencyMax));
  }
  if (policy.max_retries < 0 || policy.max_retries > limits::kHttpRetriesMax) {
    return Status::InvalidArgument(context + ": max_retries must be 0.." + std::to_string(limits::kHttpRetriesMax));
  }
  if (policy.backoff_initial_ms < 0 || policy.backoff_max_ms < policy.backoff_initial_ms ||
      policy.backoff_max_ms > limits::kHttpBackoffMaxMs) {
    return Status::InvalidArgument(context + ": backoff must satisfy 0 <= backoff_initial_ms <= backoff_max_ms <= " +
                                   std::to_string(limits::kHttpBackoffMaxMs));
  }
  if (options.clock == nullptr || options.sleeper == nullptr || options.metrics == nullptr) {
    return Status::InvalidArgument(context + ": the clock, sleeper and metrics registry must be set");
  }
  if (options.response_bytes_max < 1) {
    return Status::InvalidArgument(context + ": response_bytes_max must be positive");
  }
  auto impl = std::make_unique<Impl>(std::move(policy), std::move(options));
  RETURN_IF_ERROR(impl->Init());
  return std::unique_ptr<CurlHttpClient>(new CurlHttpClient(std::move(impl)));
}

CurlHttpClient::CurlHttpClient(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
CurlHttpClient::~CurlHttpClient() = default;

Result<HttpResponse> CurlHttpClient::Send(const HttpRequest& request) { return impl_->Send(request); }
void CurlHttpClient::ReportQuotaExhausted(int64_t until_ms) { impl_->ReportQuotaExhausted(until_ms); }
const std::string& CurlHttpClient::source() const { return impl_->source(); }

}  // namespace finlake
