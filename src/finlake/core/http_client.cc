// The value types and helpers of http_client.h; CurlHttpClient is in
// curl_http_client.cc.
#include "finlake/core/http_client.h"

#include <curl/curl.h>

#include <algorithm>
#include <array>
#include <cctype>

#include "finlake/core/strings.h"

namespace finlake {

namespace {

bool EqualsIgnoreCase(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return std::tolower(static_cast<unsigned char>(x)) == std::tolower(static_cast<unsigned char>(y));
         });
}

// Words that mark a query parameter as secret when its name contains one.
constexpr std::array<std::string_view, 9> kSecretNameWords = {
    "key", "token", "secret", "password", "passwd", "crumb", "signature", "credential", "session"};

// Redacts `name=value` pairs separated by '&' in a query string or fragment.
std::string RedactParameters(std::string_view parameters) {
  std::string out;
  out.reserve(parameters.size());
  size_t start = 0;
  while (start <= parameters.size()) {
    size_t end = parameters.find('&', start);
    if (end == std::string_view::npos) end = parameters.size();
    std::string_view pair = parameters.substr(start, end - start);
    size_t equals = pair.find('=');
    if (equals != std::string_view::npos && IsSecretParameterName(pair.substr(0, equals))) {
      out.append(pair.substr(0, equals + 1)).append("***");
    } else {
      out.append(pair);
    }
    if (end == parameters.size()) break;
    out.push_back('&');
    start = end + 1;
  }
  return out;
}

}  // namespace

bool IsSecretParameterName(std::string_view raw_name) {
  std::string decoded;
  if (!PercentDecode(raw_name, &decoded)) decoded = std::string(raw_name);
  std::string name = ToLower(decoded);
  return std::any_of(kSecretNameWords.begin(), kSecretNameWords.end(),
                     [&](std::string_view word) { return name.find(word) != std::string::npos; });
}

std::optional<std::string_view> HttpHeaders::Get(std::string_view name) const {
  for (const auto& [field_name, value] : fields_) {
    if (EqualsIgnoreCase(field_name, name)) return std::string_view(value);
  }
  return std::nullopt;
}

std::vector<std::string_view> HttpHeaders::GetAll(std::string_view name) const {
  std::vector<std::string_view> values;
  for (const auto& [field_name, value] : fields_) {
    if (EqualsIgnoreCase(field_name, name)) values.emplace_back(value);
  }
  return values;
}

const char* HttpOutcomeName(HttpOutcome outcome) {
  switch (outcome) {
    case HttpOutcome::kOk:
      return "ok";
    case HttpOutcome::kClientError:
      return "client_error";
    case HttpOutcome::kServerError:
      return "server_error";
    case HttpOutcome::kNetworkError:
      return "network_error";
    case HttpOutcome::kRateLimited:
      return "rate_limited";
    case HttpOutcome::kQuotaExhausted:
      return "quota_exhausted";
  }
  return "unknown";
}

std::string RedactUrl(std::string_view url) {
  std::string out;
  out.reserve(url.size());
  // The fragment, then the query, are split off first: '?' and '#' may not appear
  // unescaped in the authority or the path (RFC 3986 section 3).
  std::string_view fragment;
  size_t hash = url.find('#');
  if (hash != std::string_view::npos) {
    fragment = url.substr(hash + 1);
    url = url.substr(0, hash);
  }
  std::string_view query;
  bool has_query = false;
  size_t question = url.find('?');
  if (question != std::string_view::npos) {
    query = url.substr(question + 1);
    has_query = true;
    url = url.substr(0, question);
  }
  // scheme://user:password@host/path: keep the user, hide the password.
  size_t scheme_end = url.find("://");
  size_t authority_start = scheme_end == std::string_view::npos ? 0 : scheme_end + 3;
  size_t authority_end = url.find('/', authority_start);
  if (authority_end == std::string_view::npos) authority_end = url.size();
  std::string_view authority = url.substr(authority_start, authority_end - authority_start);
  size_t at = authority.rfind('@');
  if (at != std::string_view::npos) {
    std::string_view user_info = authority.substr(0, at);
    size_t colon = user_info.find(':');
    out.append(url.substr(0, authority_start));
    if (colon != std::string_view::npos) {
      out.append(user_info.substr(0, colon)).append(":***");
    } else {
      out.append(user_info);
    }
    out.append(authority.substr(at)).append(url.substr(authority_end));
  } else {
    out.append(url);
  }
  if (has_query) out.append("?").append(RedactParameters(query));
  // OAuth's implicit flow returns access_token=... in the fragment.
  if (hash != std::string_view::npos) out.append("#").append(RedactParameters(fragment));
  return out;
}

std::optional<int64_t> ParseRetryAfterMs(std::string_view value, int64_t now_ms) {
  while (!value.empty() && (value.front() == ' ' || value.front() == '\t')) value.remove_prefix(1);
  while (!value.empty() && (value.back() == ' ' || value.back() == '\t')) value.remove_suffix(1);
  if (value.empty()) return std::nullopt;
  if (std::all_of(value.begin(), value.end(), [](char c) { return c >= '0' && c <= '9'; })) {
    // delta-seconds; anything longer than a day is capped by the caller anyway, so
    // saturate instead of overflowing.
    if (value.size() > 9) return int64_t{999999999} * 1000;
    return static_cast<int64_t>(std::stoll(std::string(value))) * 1000;
  }
  // HTTP-date in any of the three forms RFC 9110 requires recipients to accept;
  // curl_getdate parses all of them.
  std::string text(value);
  time_t date = curl_getdate(text.c_str(), nullptr);
  if (date < 0) return std::nullopt;
  return std::max<int64_t>(0, static_cast<int64_t>(date) * 1000 - now_ms);
}

}  // namespace finlake
