#include "finlake/calendar/calendar_config.h"

#include <gtest/gtest.h>

namespace finlake::calendar {
namespace {

constexpr const char* kLondon = R"yaml(
calendars:
  XLON:
    name: London Stock Exchange
    time_zone: Europe/London
    open: "08:00"
    close: "16:30"
    early_close: "12:30"
    holidays:
      - {name: New Year's Day, month: 1, day: 1, observance: weekend_to_monday}
      - {name: Good Friday, easter_offset: -2}
      - {name: Easter Monday, easter_offset: 1}
      - {name: Early May bank holiday, month: 5, weekday: monday, nth: 1}
      - {name: Spring bank holiday, month: 5, weekday: mon, nth: -1}
    early_closes:
      - {name: Christmas Eve, month: 12, day: 24, weekdays: [mon, tue, wed, thu, fri]}
    closures: [2022-09-19]
)yaml";

TEST(CalendarConfig, DefinesAnExchangeFromYaml) {
  auto specs = ParseCalendarsYaml(kLondon, "finlake.yaml");
  ASSERT_TRUE(specs.ok()) << specs.status().ToString();
  auto london = ExchangeCalendar::Create(specs->at("XLON"));
  ASSERT_TRUE(london.ok()) << london.status().ToString();
  EXPECT_FALSE(london->IsSession(ParseDay("2022-01-03").value())) << "Saturday New Year moves to Monday";
  EXPECT_FALSE(london->IsSession(ParseDay("2026-04-06").value())) << "Easter Monday 2026";
  EXPECT_FALSE(london->IsSession(ParseDay("2026-05-04").value())) << "first Monday of May";
  EXPECT_FALSE(london->IsSession(ParseDay("2026-05-25").value())) << "last Monday of May";
  EXPECT_FALSE(london->IsSession(ParseDay("2022-09-19").value())) << "one-off closure";
  auto eve = london->SessionOn(ParseDay("2025-12-24").value());
  ASSERT_TRUE(eve.has_value());
  EXPECT_TRUE(eve->early_close);
}

TEST(CalendarConfig, ErrorsNameTheCalendarEntryAndRule) {
  struct Case {
    std::string yaml, needle;
  };
  for (const Case& c : std::vector<Case>{
           {"calendars:\n  XA: {open: '09:00'}\n", "calendars.XA: time_zone is required"},
           {"calendars:\n  XB: {time_zone: Europe/Paris, open: '9h'}\n", "calendars.XB.open"},
           {"calendars:\n  XC: {time_zone: Europe/Paris, holidays: [{name: Bad, month: 13, day: 1}]}\n",
            "calendars.XC.holidays[0]: month must be 1-12"},
           {"calendars:\n  XD: {time_zone: Europe/Paris, holidays: [{name: Odd, month: 5, weekday: funday}]}\n",
            "'funday' is not a weekday"},
           {"calendars:\n  XE: {time_zone: Europe/Paris, holidays: [{month: 5, day: 1, observance: sometimes}]}\n",
            "observance 'sometimes'"},
           {"calendars: [1, 2", "finlake.yaml"},
       }) {
    auto specs = ParseCalendarsYaml(c.yaml, "finlake.yaml");
    ASSERT_FALSE(specs.ok()) << c.yaml;
    EXPECT_NE(specs.status().message().find(c.needle), std::string::npos) << specs.status().message();
  }
}

TEST(CalendarConfig, FallsBackToBuiltInCalendars) {
  auto nyse = ResolveCalendar("XNYS", "/nonexistent/finlake.yaml");
  ASSERT_TRUE(nyse.ok());
  EXPECT_EQ(nyse->spec().time_zone, "America/New_York");
}

}  // namespace
}  // namespace finlake::calendar
