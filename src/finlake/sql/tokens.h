// A SQL lexer for the rewrites in front of DuckDB: it cuts text into words,
// quoted names, string literals, numbers, punctuation and trivia (whitespace and
// comments) without parsing, so a rewrite can look at keywords while leaving
// literals and comments exactly as typed. It follows DuckDB's (PostgreSQL's)
// rules: '...' with '' inside, E'...' with backslash escapes, $$...$$ and
// $tag$...$tag$, "quoted names", -- and /* */ comments. Unclosed quotes and
// comments run to the end of the text (the parser then says what is wrong).
//
// Thread-safe: pure functions.
#pragma once

#include <cstddef>
#include <string>
#include <vector>

namespace finlake::sql {

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

std::vector<Token> Tokenize(const std::string& text);

// The statements of `text`, split at semicolons between tokens (never inside a
// literal or a comment), trimmed of nothing; empty ones are dropped.
std::vector<std::string> SplitStatements(const std::string& text);

// The statement's leading keyword, lower case: "select", "insert", "with"
// resolved to the keyword of the statement after its CTE list, "" when the text
// has no word before its first symbol other than "(" (e.g. "(SELECT 1)" is
// "select").
std::string LeadingKeyword(const std::string& statement);

// How deep WITH clauses nest in `statement`: a WITH inside a parenthesis that
// a WITH's scope encloses counts one more (two WITHs side by side, in the
// branches of a UNION say, count one each).
int WithNesting(const std::string& statement);

// How many `name AS [[NOT] MATERIALIZED] (` a statement declares: its CTEs (and
// its named windows); `materialized` counts those marked MATERIALIZED.
struct CteCount {
  int total = 0;
  int materialized = 0;
};
CteCount CountCtes(const std::string& statement);

}  // namespace finlake::sql
