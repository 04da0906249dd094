// Delta/Spark `VERSION AS OF` and `TIMESTAMP AS OF` into DuckDB's AT clause
// (time_travel.h).
#include "finlake/sql/time_travel.h"

#include <algorithm>
#include <array>
#include <cctype>
#include <vector>

#include "finlake/core/strings.h"

namespace finlake::sql {
namespace {

enum class Kind {
  kWord,        // An unquoted identifier or keyword.
  kQuotedName,  // "an identifier"
  kString,      // 'a literal', E'...', $$...$$ or $tag$...$tag$
  kNumber,
  kSymbol,      // One character of punctuation.
  kTrivia,      // Whitespace and comments.
};

struct Token {
  Kind kind;
  size_t begin, end;  // Byte range in the text.
};

bool IsWordStart(char c) { return std::isalpha(static_cast<unsigned char>(c)) || c == '_' || (c & 0x80) != 0; }
bool IsWordChar(char c) { return IsWordStart(c) || std::isdigit(static_cast<unsigned char>(c)) || c == '$'; }

// The end of a quoted run starting at `begin` (the opening quote), where a doubled
// quote stands for itself; the text's end when it is not closed.
size_t QuotedEnd(const std::string& text, size_t begin, char quote) {
  size_t i = begin + 1;
  while (i < text.size()) {
    if (text[i] == quote) {
      if (i + 1 < text.size() && text[i + 1] == quote) {
        i += 2;
        continue;
      }
      return i + 1;
    }
    ++i;
  }
  return text.size();
}

std::vector<Token> Tokenize(const std::string& text) {
  std::vector<Token> tokens;
  size_t i = 0;
  while (i < text.size()) {
    const char c = text[i];
    const char next = i + 1 < text.size() ? text[i + 1] : '\0';
    size_t end = i + 1;
    Kind kind = Kind::kSymbol;
    if (std::isspace(static_cast<unsigned char>(c))) {
      while (end < text.size() && std::isspace(static_cast<unsigned char>(text[end]))) ++end;
      kind = Kind::kTrivia;
    } else if (c == '-' && next == '-') {
      end = text.find('\n', i);
      end = end == std::string::npos ? text.size() : end;
      kind = Kind::kTrivia;
    } else if (c == '/' && next == '*') {
      end = text.find("*/", i + 2);
      end = end == std::string::npos ? text.size() : end + 2;
      kind = Kind::kTrivia;
    } else if (c == '\'') {
      end = QuotedEnd(text, i, '\'');
      kind = Kind::kString;
    } else if ((c == 'e' || c == 'E') && next == '\'') {
      // E'...' escapes a quote with a backslash or by doubling it.
      end = i + 2;
      while (end < text.size()) {
        if (text[end] == '\\') {
          end += 2;
        } else if (text[end] == '\'' && end + 1 < text.size() && text[end + 1] == '\'') {
          end += 2;
        } else if (text[end] == '\'') {
          break;
        } else {
          ++end;
        }
      }
      end = std::min(end + 1, text.size());
      kind = Kind::kString;
    } else if (c == '"') {
      end = QuotedEnd(text, i, '"');
      kind = Kind::kQuotedName;
    } else if (c == '$' && (next == '$' || IsWordStart(next))) {
      // $$...$$ or $tag$...$tag$; a lone $name is a parameter, a symbol here.
      size_t tag_end = text.find('$', i + 1);
      std::string tag = tag_end == std::string::npos ? "" : text.substr(i, tag_end - i + 1);
      bool valid = !tag.empty();
      for (size_t k = 1; valid && k + 1 < tag.size(); ++k) valid = IsWordChar(tag[k]) && tag[k] != '$';
      if (valid) {
        size_t close = text.find(tag, tag_end + 1);
        end = close == std::string::npos ? text.size() : close + tag.size();
        kind = Kind::kString;
      }
    } else if (std::isdigit(static_cast<unsigned char>(c))) {
      while (end < text.size() && (std::isalnum(static_cast<unsigned char>(text[end])) || text[end] == '.' ||
                                   text[end] == '_')) {
        ++end;
      }
      kind = Kind::kNumber;
    } else if (IsWordStart(c)) {
      while (end < text.size() && IsWordChar(text[end])) ++end;
      kind = Kind::kWord;
    }
    tokens.push_back({kind, i, end});
    i = end;
  }
  return tokens;
}

// Words that end a table reference instead of naming its alias.
bool EndsTableReference(const std::string& lower) {
  static const std::array<const char*, 26> kWords = {
      "where",  "join",  "inner", "left",   "right",  "full",     "cross",  "natural", "on",
      "using",  "group", "order", "having", "limit",  "offset",   "union",  "except",  "intersect",
      "window", "qualify", "fetch", "positional", "asof", "anti", "semi", "tablesample"};
  for (const char* word : kWords) {
    if (lower == word) return true;
  }
  return false;
}

class Rewriter {
 public:
  explicit Rewriter(const std::string& text) : text_(text), tokens_(Tokenize(text)) {}

  Result<std::string> Run() {
    std::string out;
    size_t copied = 0;  // Bytes of text_ already in `out`.
    for (size_t t = 0; t < tokens_.size(); ++t) {
      const std::string keyword = Lower(t);
      if (tokens_[t].kind != Kind::kWord || (keyword != "version" && keyword != "timestamp")) continue;
      size_t as = Next(t), of = Next(as), value = Next(of);
      if (Lower(as) != "as" || Lower(of) != "of") continue;
      // A plain word after OF ("SELECT version AS of FROM t") is SQL of another
      // kind: left alone. A literal or an expression is a clause to check.
      if (value == kNone || (tokens_[value].kind == Kind::kWord && Lower(Next(value)) != "(")) continue;
      const std::string name = keyword == "version" ? "VERSION AS OF" : "TIMESTAMP AS OF";
      const std::string example = keyword == "version" ? "VERSION AS OF 3" : "TIMESTAMP AS OF '2026-01-02 16:00:00'";
      const bool valid = keyword == "version" ? tokens_[value].kind == Kind::kNumber && AllDigits(Text(value))
                                              : tokens_[value].kind == Kind::kString;
      if (!valid) {
        return Status::InvalidArgument(name + (keyword == "version" ? " takes a non-negative integer literal"
                                                                    : " takes a quoted timestamp") +
                                       ", as in silver.bars_1d " + example + "; got '" + Text(value) + "'");
      }
      // The token before must end a table name.
      size_t before = Previous(t);
      if (before == kNone || (tokens_[before].kind != Kind::kWord && tokens_[before].kind != Kind::kQuotedName)) {
        return Status::InvalidArgument(name + " must follow a table name, as in silver.bars_1d " + example);
      }
      const std::string clause =
          std::string("AT (") + (keyword == "version" ? "VERSION" : "TIMESTAMP") + " => " + Text(value) + ")";
      // Spark's alias follows the clause; DuckDB wants it before AT.
      size_t last = value;  // The last token the rewrite consumes.
      std::string alias;
      size_t candidate = Next(value);
      if (candidate != kNone && Lower(candidate) == "as") {
        size_t name = Next(candidate);
        if (name == kNone || (tokens_[name].kind != Kind::kWord && tokens_[name].kind != Kind::kQuotedName)) {
          return Status::InvalidArgument("AS after " + Text(value) + " must name an alias");
        }
        alias = "AS " + Text(name);
        last = name;
      } else if (candidate != kNone &&
                 (tokens_[candidate].kind == Kind::kQuotedName ||
                  (tokens_[candidate].kind == Kind::kWord && !EndsTableReference(Lower(candidate))))) {
        alias = "AS " + Text(candidate);
        last = candidate;
      }
      out.append(text_, copied, tokens_[t].begin - copied);
      if (!alias.empty()) out += alias + " ";
      out += clause;
      copied = tokens_[last].end;
      t = last;
    }
    out.append(text_, copied, std::string::npos);
    return out;
  }

 private:
  static constexpr size_t kNone = static_cast<size_t>(-1);

  // The next / previous token that is not trivia, or kNone.
  size_t Next(size_t t) const {
    if (t == kNone) return kNone;
    for (size_t k = t + 1; k < tokens_.size(); ++k) {
      if (tokens_[k].kind != Kind::kTrivia) return k;
    }
    return kNone;
  }
  size_t Previous(size_t t) const {
    for (size_t k = t; k-- > 0;) {
      if (tokens_[k].kind != Kind::kTrivia) return k;
    }
    return kNone;
  }
  std::string Text(size_t t) const { return text_.substr(tokens_[t].begin, tokens_[t].end - tokens_[t].begin); }
  std::string Lower(size_t t) const { return t == kNone ? "" : ToLower(Text(t)); }
  static bool AllDigits(const std::string& s) {
    for (char c : s) {
      if (!std::isdigit(static_cast<unsigned char>(c))) return false;
    }
    return !s.empty();
  }

  const std::string& text_;
  std::vector<Token> tokens_;
};

}  // namespace

Result<std::string> RewriteTimeTravel(const std::string& sql) { return Rewriter(sql).Run(); }

}  // namespace finlake::sql
