// Delta/Spark `VERSION AS OF` and `TIMESTAMP AS OF` into DuckDB's AT clause
// (time_travel.h).
#include "finlake/sql/time_travel.h"

#include <algorithm>
#include <array>
#include <cctype>
#include <vector>

#include "finlake/core/strings.h"
#include "finlake/sql/tokens.h"

namespace finlake::sql {
namespace {

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
