#include "finlake/calendar/exchange_calendar.h"

#include <gtest/gtest.h>

namespace finlake::calendar {
namespace {

Day D(const std::string& text) { return ParseDay(text).value(); }

std::string Utc(Instant instant) {
  auto day = std::chrono::floor<std::chrono::days>(instant);
  auto minutes = std::chrono::duration_cast<std::chrono::minutes>(instant - day).count();
  return FormatDay(day) + "T" + FormatMinutes(std::chrono::minutes(minutes)) + "Z";
}

class NyseTest : public ::testing::Test {
 protected:
  ExchangeCalendar nyse_ = ExchangeCalendar::Builtin("XNYS").value();
};

TEST_F(NyseTest, ClosuresAndEarlyClosesPerYearMatchNysePublishedCounts) {
  // research/market-apis.md 3.5: full closures 9,9,9,10,10,11,10,10 and early closes
  // 2,1,1,2,3,3,2,1 for 2020..2027.
  const int closures[] = {9, 9, 9, 10, 10, 11, 10, 10};
  const int early[] = {2, 1, 1, 2, 3, 3, 2, 1};
  for (int year = 2020; year <= 2027; ++year) {
    int closed = 0, short_days = 0;
    for (const SpecialDay& day : nyse_.SpecialDays(year)) (day.kind == "closed" ? closed : short_days)++;
    EXPECT_EQ(closed, closures[year - 2020]) << year;
    EXPECT_EQ(short_days, early[year - 2020]) << year;
  }
}

TEST_F(NyseTest, WeekendObservanceRules) {
  EXPECT_TRUE(nyse_.IsSession(D("2021-12-31"))) << "Saturday New Year 2022 is not observed on Friday";
  EXPECT_FALSE(nyse_.IsSession(D("2023-01-02"))) << "Sunday New Year is observed on Monday";
  EXPECT_FALSE(nyse_.IsSession(D("2022-06-20"))) << "Sunday Juneteenth is observed on Monday";
  EXPECT_TRUE(nyse_.IsSession(D("2021-06-18"))) << "Juneteenth is a holiday from 2022 only";
  EXPECT_FALSE(nyse_.IsSession(D("2026-07-03"))) << "Saturday July 4 is observed on Friday";
  EXPECT_FALSE(nyse_.SessionOn(D("2026-07-02"))->early_close) << "no early close before an observed Friday";
  EXPECT_TRUE(nyse_.SessionOn(D("2013-07-03"))->early_close) << "Wednesday July 3 since 2013";
  EXPECT_TRUE(nyse_.SessionOn(D("2002-07-05"))->early_close) << "Friday July 5 before 2013";
  EXPECT_FALSE(nyse_.SessionOn(D("2019-07-05"))->early_close);
  EXPECT_FALSE(nyse_.IsSession(D("2012-10-29"))) << "Hurricane Sandy";
  EXPECT_FALSE(nyse_.IsSession(D("2025-01-09"))) << "national day of mourning (Carter)";
  EXPECT_TRUE(nyse_.IsSession(D("2025-12-26"))) << "a normal full day after a Thursday Christmas";
  EXPECT_FALSE(nyse_.SessionOn(D("2025-12-26"))->early_close);
}

TEST_F(NyseTest, SessionTimesFollowDaylightSaving) {
  // US DST 2026 starts on Sunday March 8: 16:00 ET is 21:00Z before, 20:00Z after.
  EXPECT_EQ(Utc(nyse_.SessionOn(D("2026-03-06"))->close), "2026-03-06T21:00Z");
  EXPECT_EQ(Utc(nyse_.SessionOn(D("2026-03-09"))->close), "2026-03-09T20:00Z");
  EXPECT_EQ(Utc(nyse_.SessionOn(D("2026-03-09"))->open), "2026-03-09T13:30Z");
  EXPECT_EQ(Utc(nyse_.SessionOn(D("2026-11-27"))->close), "2026-11-27T18:00Z") << "13:00 EST early close";
}

TEST_F(NyseTest, NextAndPreviousSessionSkipClosures) {
  EXPECT_EQ(FormatDay(nyse_.NextSession(D("2026-07-02")).date), "2026-07-06");
  EXPECT_EQ(FormatDay(nyse_.PreviousSession(D("2026-01-02")).date), "2025-12-31");
  EXPECT_EQ(FormatDay(nyse_.NextSession(D("2001-09-10")).date), "2001-09-17");
}

TEST(ExchangeCalendar, RulesFromDataAndBadSpecs) {
  CalendarSpec spec;
  spec.code = "XTST";
  spec.time_zone = "Europe/London";
  spec.open = std::chrono::minutes(8 * 60);
  spec.close = std::chrono::minutes(16 * 60 + 30);
  spec.early_close = std::chrono::minutes(12 * 60 + 30);
  DateRule boxing;
  boxing.name = "Boxing Day";
  boxing.month = 12;
  boxing.day = 26;
  boxing.observance = Observance::kNearestWeekday;
  spec.holidays.push_back(boxing);
  auto london = ExchangeCalendar::Create(spec);
  ASSERT_TRUE(london.ok()) << london.status().ToString();
  EXPECT_FALSE(london->IsSession(D("2025-12-26")));
  // 16:30 London in summer (BST) is 15:30Z.
  EXPECT_EQ(Utc(london->SessionOn(D("2025-07-01"))->close), "2025-07-01T15:30Z");
  spec.time_zone = "Mars/Olympus_Mons";
  auto bad = ExchangeCalendar::Create(spec);
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.status().message().find("Mars/Olympus_Mons"), std::string::npos);
  EXPECT_FALSE(ExchangeCalendar::Builtin("XXXX").ok());
  EXPECT_FALSE(ParseDay("2026-02-30").ok());
}

}  // namespace
}  // namespace finlake::calendar
