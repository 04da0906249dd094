// The engine's sandbox (engine::Sandbox): the second wall behind the query
// rewrite. These statements go straight to DuckDB, as if the rewrite had let
// them through.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <set>

#include "finlake/engine/engine.h"
#include "testing/test_env.h"

namespace finlake::engine {
namespace {

class SandboxTest : public ::testing::Test {
 protected:
  void SetUp() override {
    // Files inside and outside the allowed directory, written by an open engine.
    std::filesystem::create_directories(dir_.path() + "/table");
    std::filesystem::create_directories(dir_.path() + "/tablex");
    auto open = Database::Open({}).value();
    auto writer = open->Connect().value();
    ASSERT_TRUE(writer->Execute("COPY (SELECT 42 AS v) TO '" + Inside() + "' (FORMAT parquet)").ok());
    ASSERT_TRUE(writer->Execute("COPY (SELECT 7 AS v) TO '" + Outside() + "' (FORMAT parquet)").ok());
    EngineOptions options;
    options.sandbox = Sandbox{{dir_.path() + "/table/"}, {dir_.path() + "/out.parquet"}};
    database_ = Database::Open(options).value();
    connection_ = database_->Connect().value();
  }
  std::string Inside() { return dir_.path() + "/table/data.parquet"; }
  std::string Outside() { return dir_.path() + "/tablex/data.parquet"; }
  Status Run(const std::string& sql) { return connection_->Query(sql).status(); }

  testing::ScratchDir dir_;
  std::unique_ptr<Database> database_;
  std::unique_ptr<Connection> connection_;
};

TEST_F(SandboxTest, ReadsOnlyTheAllowedDirectoryAndWritesOnlyTheAllowedFile) {
  auto inside = connection_->Query("SELECT v FROM read_parquet('" + Inside() + "')");
  ASSERT_TRUE(inside.ok()) << inside.status().ToString();
  EXPECT_EQ((*inside)->GetInt64(0, 0), 42);
  // A sibling sharing the allowed folder's name as a prefix stays out of reach.
  for (const std::string& probe :
       {"SELECT * FROM read_parquet('" + Outside() + "')", std::string("SELECT * FROM read_text('/etc/passwd')"),
        "SELECT * FROM read_parquet('" + dir_.path() + "/table/../tablex/data.parquet')",
        std::string("SELECT * FROM glob('/etc/*')"), "COPY (SELECT 1) TO '" + dir_.path() + "/escaped.csv'",
        "ATTACH '" + dir_.path() + "/other.db'"}) {
    Status status = Run(probe);
    EXPECT_FALSE(status.ok()) << probe;
    EXPECT_NE(status.message().find("disabled by configuration"), std::string::npos) << probe << ": " << status.message();
  }
  EXPECT_TRUE(Run("COPY (SELECT 1 AS v) TO '" + dir_.path() + "/out.parquet' (FORMAT parquet)").ok());
  std::ifstream escaped(dir_.path() + "/escaped.csv");
  EXPECT_FALSE(escaped.good());
}

TEST_F(SandboxTest, SettingsAreLockedAndExtensionsStayOut) {
  for (const char* probe : {"SET enable_external_access = true", "SET allowed_directories = ['/']",
                            "RESET lock_configuration", "SET threads = 1", "SET TimeZone = 'America/New_York'",
                            "INSTALL httpfs", "LOAD httpfs"}) {
    EXPECT_FALSE(Run(probe).ok()) << probe;
  }
  auto settings = connection_->Query(
      "SELECT current_setting('enable_external_access'), current_setting('lock_configuration'), "
      "current_setting('TimeZone'), current_setting('autoload_known_extensions')");
  ASSERT_TRUE(settings.ok());
  EXPECT_EQ((*settings)->GetString(0, 0), "false");
  EXPECT_EQ((*settings)->GetString(1, 0), "true");
  EXPECT_EQ((*settings)->GetString(2, 0), "UTC");
  EXPECT_EQ((*settings)->GetString(3, 0), "false");
  // The indicator functions are registered before the lock.
  EXPECT_TRUE(Run("SELECT ta_sma([1.0, 2.0, 3.0], 2)").ok());
}

TEST(EngineOptionsTest, AMemoryLimitThatIsNotASizeIsRefusedByName) {
  EngineOptions options;
  options.memory_limit = "lots";
  auto opened = Database::Open(options);
  ASSERT_FALSE(opened.ok());
  EXPECT_NE(opened.status().message().find("memory_limit"), std::string::npos) << opened.status().message();
}

}  // namespace
}  // namespace finlake::engine

namespace finlake::engine {
namespace {

// The check the query rewrite ends with (fail closed): the kind of statement a
// text prepares as, without running it.
TEST(StatementTypeTest, NamesTheKindOfStatementWithoutRunningIt) {
  testing::ScratchDir dir;
  auto database = Database::Open({}).value();
  auto connection = database->Connect().value();
  EXPECT_EQ(connection->StatementType("SELECT 1").value(), DUCKDB_STATEMENT_TYPE_SELECT);
  EXPECT_EQ(connection->StatementType("EXPLAIN SELECT 1").value(), DUCKDB_STATEMENT_TYPE_EXPLAIN);
  EXPECT_EQ(connection->StatementType("COPY (SELECT 1) TO '" + dir.path() + "/x.csv'").value(),
            DUCKDB_STATEMENT_TYPE_COPY);
  EXPECT_EQ(connection->StatementType("SET threads = 1").value(), DUCKDB_STATEMENT_TYPE_SET);
  EXPECT_FALSE(std::filesystem::exists(dir.path() + "/x.csv"));
  auto bad = connection->StatementType("SELECT no_such_column");
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.status().message().find("no_such_column"), std::string::npos);
}

TEST(StatementCountTest, ParsesWithoutBinding) {
  auto database = Database::Open({}).value();
  auto connection = database->Connect().value();
  EXPECT_EQ(connection->StatementCount("SELECT no_such_column FROM no_such_table").value(), 1);
  EXPECT_EQ(connection->StatementCount("SELECT 1; SELECT 2").value(), 2);
  EXPECT_EQ(connection->StatementCount("SELECT ';' AS a /* ; */ -- ;").value(), 1);
  auto bad = connection->StatementCount("SELEC 1");
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.status().message().find("syntax error"), std::string::npos) << bad.status().message();
}

TEST(PreparedStatementTest, RunsAgainWithNewTextParameters) {
  auto database = Database::Open({}).value();
  auto connection = database->Connect().value();
  auto upper = connection->Prepare("SELECT upper($1::VARCHAR), length($2::VARCHAR)").value();
  for (const std::string& text : {std::string("it's"), std::string(100000, 'x'), std::string("a\0b", 3)}) {
    auto result = upper->Run({text, text}).value();
    EXPECT_EQ(result->GetInt64(1, 0), static_cast<int64_t>(text.size()));
  }
  EXPECT_EQ(upper->Run({"abc", "abc"}).value()->GetString(0, 0), "ABC");
  EXPECT_FALSE(connection->Prepare("SELECT FROM WHERE").ok());
}

// The lists finlake refuses by name must cover what the linked DuckDB's catalog
// says: an upgrade that adds a volatile function, or a macro over the catalog,
// fails here until the list follows.
TEST(FunctionListsTest, CoverTheLinkedDuckDbsCatalog) {
  auto database = Database::Open({}).value();
  auto connection = database->Connect().value();
  auto names = [&](const std::string& where) {
    std::set<std::string> found;
    auto result = connection->Query("SELECT DISTINCT lower(function_name) FROM duckdb_functions() WHERE " + where);
    EXPECT_TRUE(result.ok()) << result.status().ToString();
    for (int64_t row = 0; result.ok() && row < (*result)->row_count(); ++row) found.insert((*result)->GetString(0, row));
    return found;
  };
  const std::set<std::string> volatile_now = names("stability = 'VOLATILE'");
  EXPECT_FALSE(volatile_now.empty());
  for (const std::string& name : volatile_now) EXPECT_TRUE(VolatileFunctions().count(name)) << name;
  const std::set<std::string> catalog_macros =
      names("function_type = 'macro' AND regexp_matches(macro_definition, '\\bselect\\b', 'i')");
  EXPECT_FALSE(catalog_macros.empty());
  for (const std::string& name : catalog_macros) EXPECT_TRUE(UnsafeScalarFunctions().count(name)) << name;
  for (const char* name : {"json_serialize_plan", "current_query"}) {
    EXPECT_FALSE(names("lower(function_name) = '" + std::string(name) + "'").empty()) << name << " is gone";
    EXPECT_TRUE(UnsafeScalarFunctions().count(name)) << name;
  }
}

}  // namespace
}  // namespace finlake::engine
