#include "finlake/engine/query_watchdog.h"

#include <gtest/gtest.h>

#include <chrono>
#include <csignal>
#include <thread>

namespace finlake::engine {
namespace {

constexpr const char* kLongQuery = "SELECT sum(hash(i)) FROM range(1000000000000) t(i)";  // Hours of work.

class QueryWatchdogTest : public ::testing::Test {
 protected:
  void SetUp() override {
    database_ = Database::Open({}).value();
    connection_ = database_->Connect().value();
  }
  std::unique_ptr<Database> database_;
  std::unique_ptr<Connection> connection_;
};

TEST_F(QueryWatchdogTest, InterruptsAStatementPastItsDeadlineAndSaysWhy) {
  QueryWatchdog watchdog(*connection_, 200, /*on_sigint=*/false);
  auto result = connection_->Query(kLongQuery);
  EXPECT_FALSE(result.ok());
  EXPECT_EQ(watchdog.reason(), "the query ran past its 200 ms timeout (--timeout)");
}

TEST_F(QueryWatchdogTest, SigintCancelsAndTheConnectionWorksAfterwards) {
  {
    QueryWatchdog watchdog(*connection_, 0, /*on_sigint=*/true);
    std::thread signaller([] {
      std::this_thread::sleep_for(std::chrono::milliseconds(200));
      std::raise(SIGINT);
    });
    auto result = connection_->Query(kLongQuery);
    signaller.join();
    EXPECT_FALSE(result.ok());
    EXPECT_EQ(watchdog.reason(), "the query was cancelled (Ctrl-C)");
  }
  // The watchdog is gone: SIGINT's previous handler is back, and no interrupt
  // reaches the next statement.
  struct sigaction current {};
  sigaction(SIGINT, nullptr, &current);
  EXPECT_EQ(current.sa_handler, SIG_DFL);
  auto after = connection_->Query("SELECT 42");
  ASSERT_TRUE(after.ok()) << after.status().ToString();
  EXPECT_EQ((*after)->GetInt64(0, 0), 42);
}

TEST_F(QueryWatchdogTest, AQuickStatementIsLeftAlone) {
  QueryWatchdog watchdog(*connection_, 60000, /*on_sigint=*/false);
  EXPECT_TRUE(connection_->Query("SELECT 1").ok());
  EXPECT_EQ(watchdog.reason(), "");
}

}  // namespace
}  // namespace finlake::engine
