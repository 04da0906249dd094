// The SQL lexer (tokens.h).
#include "finlake/sql/tokens.h"

#include <algorithm>
#include <cctype>

#include "finlake/core/strings.h"

namespace finlake::sql {
namespace {

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

}  // namespace

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


std::vector<std::string> SplitStatements(const std::string& text) {
  std::vector<std::string> statements;
  size_t begin = 0;
  auto flush = [&](size_t end) {
    std::string statement = text.substr(begin, end - begin);
    bool empty = true;
    for (const Token& token : Tokenize(statement)) empty = empty && token.kind == Kind::kTrivia;
    if (!empty) statements.push_back(std::move(statement));
  };
  for (const Token& token : Tokenize(text)) {
    if (token.kind == Kind::kSymbol && text[token.begin] == ';') {
      flush(token.begin);
      begin = token.end;
    }
  }
  flush(text.size());
  return statements;
}

std::string LeadingKeyword(const std::string& statement) {
  const std::vector<Token> tokens = Tokenize(statement);
  auto word = [&](const Token& token) { return ToLower(statement.substr(token.begin, token.end - token.begin)); };
  int depth = 0;
  bool in_with = false;
  for (const Token& token : tokens) {
    if (token.kind == Kind::kTrivia) continue;
    if (token.kind == Kind::kSymbol) {
      const char c = statement[token.begin];
      if (c == '(') ++depth;
      if (c == ')') --depth;
      if (!in_with && c != '(') return "";
      continue;
    }
    if (depth > 0 && in_with) continue;  // Inside a CTE's body.
    if (token.kind != Kind::kWord) {
      if (in_with) continue;  // A CTE's quoted name.
      return "";
    }
    const std::string keyword = word(token);
    if (!in_with && keyword == "with") {
      in_with = true;
      continue;
    }
    if (in_with) {
      // WITH [RECURSIVE] name [(columns)] AS [[NOT] MATERIALIZED] (...) [, ...] <statement>
      static const char* const kInsideWith[] = {"recursive", "as", "not", "materialized", "using", "key"};
      if (std::find_if(std::begin(kInsideWith), std::end(kInsideWith),
                       [&](const char* w) { return keyword == w; }) != std::end(kInsideWith)) {
        continue;
      }
      static const char* const kStatements[] = {"select", "insert", "update", "delete", "merge", "values", "from",
                                                "table", "copy", "create", "pivot", "unpivot"};
      if (std::find_if(std::begin(kStatements), std::end(kStatements),
                       [&](const char* w) { return keyword == w; }) != std::end(kStatements)) {
        return keyword;
      }
      continue;  // A CTE's name.
    }
    return keyword;
  }
  return "";
}

int WithNesting(const std::string& statement) {
  std::vector<int> open;  // The parenthesis depth of each WITH still in scope.
  int depth = 0, deepest = 0;
  for (const Token& token : Tokenize(statement)) {
    const char first = statement[token.begin];
    if (token.kind == Kind::kSymbol && first == '(') {
      ++depth;
    } else if (token.kind == Kind::kSymbol && first == ')') {
      --depth;
      while (!open.empty() && open.back() > depth) open.pop_back();
    } else if (token.kind == Kind::kWord && token.end - token.begin == 4 &&
               ToLower(statement.substr(token.begin, 4)) == "with") {
      while (!open.empty() && open.back() >= depth) open.pop_back();
      open.push_back(depth);
      deepest = std::max(deepest, static_cast<int>(open.size()));
    }
  }
  return deepest;
}

CteCount CountCtes(const std::string& statement) {
  std::vector<std::string> words;  // Significant tokens, words lower case, symbols as themselves.
  for (const Token& token : Tokenize(statement)) {
    if (token.kind == Kind::kTrivia) continue;
    std::string text = statement.substr(token.begin, token.end - token.begin);
    words.push_back(token.kind == Kind::kWord ? ToLower(text) : token.kind == Kind::kSymbol ? text : "");
  }
  CteCount count;
  for (size_t i = 0; i + 1 < words.size(); ++i) {
    if (words[i] != "as") continue;
    size_t next = i + 1;
    if (words[next] == "not" && next + 1 < words.size()) ++next;
    const bool materialized = words[next] == "materialized";
    if (materialized && next + 1 < words.size()) ++next;
    if (words[next] != "(") continue;
    ++count.total;
    if (materialized && words[i + 1] != "not") ++count.materialized;
  }
  return count;
}

}  // namespace finlake::sql
