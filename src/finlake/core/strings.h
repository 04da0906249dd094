// Small text helpers shared by every module: URI escaping, UUIDs, ISO-8601 times.
#pragma once

#include <cstdint>
#include <set>
#include <string>
#include <string_view>
#include <vector>

namespace finlake {

// RFC 3986 percent-decoding. Returns false on a malformed escape.
bool PercentDecode(std::string_view in, std::string* out);
// Percent-encodes everything but unreserved characters and '/', so that a relative
// path written into a Delta `add.path` decodes back to the file's name.
std::string PercentEncodePath(std::string_view in);

// A random RFC 4122 version-4 UUID in canonical lowercase form.
std::string NewUuid();

std::vector<std::string> Split(std::string_view text, char separator);
std::string Join(const std::vector<std::string>& parts, std::string_view separator);
// The same, in the set's (sorted) order: for error messages listing what is allowed.
std::string Join(const std::set<std::string>& parts, std::string_view separator);
bool StartsWith(std::string_view text, std::string_view prefix);
bool EndsWith(std::string_view text, std::string_view suffix);
std::string ToLower(std::string_view text);
// `text` without the spaces, tabs and line breaks around it.
std::string_view TrimWhitespace(std::string_view text);

// The offset of the first byte that breaks strict UTF-8 (no overlong forms, no
// surrogates, nothing above U+10FFFF), or npos when `text` is valid.
size_t InvalidUtf8At(std::string_view text);

// Quotes an SQL string literal ('it''s') and an identifier ("a""b").
std::string SqlQuote(std::string_view text);
// The values as quoted literals joined by ", " (for an IN list).
std::string SqlQuoteList(const std::set<std::string>& values);
std::string SqlIdentifier(std::string_view name);

// Milliseconds since the Unix epoch to "2024-03-01T14:30:00.000Z".
std::string FormatIsoMillis(int64_t epoch_ms);

}  // namespace finlake
