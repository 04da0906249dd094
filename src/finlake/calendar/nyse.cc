// The built-in NYSE (XNYS) calendar, 2000-2035 (research/market-apis.md section 3;
// rules as exchange_calendars' XNYS and NYSE's published holiday calendars).
#include "finlake/calendar/exchange_calendar.h"

namespace finlake::calendar {

namespace {

constexpr unsigned kSunday = 0, kMonday = 1, kTuesday = 2, kWednesday = 3, kThursday = 4, kFriday = 5;

DateRule Fixed(std::string name, unsigned month, unsigned day, Observance observance) {
  DateRule rule;
  rule.name = std::move(name);
  rule.kind = DateRule::Kind::kFixed;
  rule.month = month;
  rule.day = day;
  rule.observance = observance;
  return rule;
}

DateRule NthWeekday(std::string name, unsigned month, unsigned weekday, int nth) {
  DateRule rule;
  rule.name = std::move(name);
  rule.kind = DateRule::Kind::kNthWeekday;
  rule.month = month;
  rule.weekday = weekday;
  rule.nth = nth;
  return rule;
}

Day D(int y, unsigned m, unsigned d) {
  return Day(std::chrono::year_month_day{std::chrono::year{y}, std::chrono::month{m}, std::chrono::day{d}});
}

CalendarSpec NyseSpec() {
  CalendarSpec spec;
  spec.code = "XNYS";
  spec.name = "New York Stock Exchange";
  spec.time_zone = "America/New_York";
  spec.open = std::chrono::minutes(9 * 60 + 30);
  spec.close = std::chrono::minutes(16 * 60);
  spec.early_close = std::chrono::minutes(13 * 60);  // Since 1993.

  // New Year's Day: a Saturday New Year is not observed on the Friday before (NYSE
  // Rule 7.2; 2022 and 2028 have no New Year holiday).
  spec.holidays.push_back(Fixed("New Year's Day", 1, 1, Observance::kSundayToMonday));
  spec.holidays.push_back(NthWeekday("Martin Luther King Jr. Day", 1, kMonday, 3));
  spec.holidays.push_back(NthWeekday("Washington's Birthday", 2, kMonday, 3));
  DateRule good_friday;
  good_friday.name = "Good Friday";
  good_friday.kind = DateRule::Kind::kEaster;
  good_friday.offset_days = -2;
  spec.holidays.push_back(good_friday);
  spec.holidays.push_back(NthWeekday("Memorial Day", 5, kMonday, -1));
  DateRule juneteenth = Fixed("Juneteenth", 6, 19, Observance::kNearestWeekday);
  juneteenth.first_year = 2022;  // First observed by NYSE in 2022 (not 2021).
  spec.holidays.push_back(juneteenth);
  spec.holidays.push_back(Fixed("Independence Day", 7, 4, Observance::kNearestWeekday));
  spec.holidays.push_back(NthWeekday("Labor Day", 9, kMonday, 1));
  spec.holidays.push_back(NthWeekday("Thanksgiving", 11, kThursday, 4));
  spec.holidays.push_back(Fixed("Christmas", 12, 25, Observance::kNearestWeekday));

  // Early closes at 13:00.
  DateRule july3 = Fixed("Day before Independence Day", 7, 3, Observance::kNone);
  july3.weekdays = {kMonday, kTuesday, kThursday};
  spec.early_closes.push_back(july3);
  DateRule july3_wednesday = july3;
  july3_wednesday.weekdays = {kWednesday};
  july3_wednesday.first_year = 2013;  // Before 2013 a Thursday July 4 made Friday the half day.
  spec.early_closes.push_back(july3_wednesday);
  DateRule july5 = Fixed("Day after Independence Day", 7, 5, Observance::kNone);
  july5.weekdays = {kFriday};
  july5.last_year = 2012;
  spec.early_closes.push_back(july5);
  DateRule black_friday = NthWeekday("Day after Thanksgiving", 11, kThursday, 4);
  black_friday.offset_days = 1;
  spec.early_closes.push_back(black_friday);
  DateRule christmas_eve = Fixed("Christmas Eve", 12, 24, Observance::kNone);
  christmas_eve.weekdays = {kMonday, kTuesday, kWednesday, kThursday};  // A Friday 24th is the observed Christmas.
  spec.early_closes.push_back(christmas_eve);
  (void)kSunday;

  // One-off closures since 2000 (they cannot be predicted: add new ones here or in config).
  spec.adhoc_closures = {D(2001, 9, 11), D(2001, 9, 12), D(2001, 9, 13), D(2001, 9, 14),  // September 11
                         D(2004, 6, 11),                                                   // Reagan
                         D(2007, 1, 2),                                                    // Ford
                         D(2012, 10, 29), D(2012, 10, 30),                                 // Hurricane Sandy
                         D(2018, 12, 5),                                                   // G.H.W. Bush
                         D(2025, 1, 9)};                                                   // Carter
  spec.adhoc_early_closes = {D(2003, 12, 26)};
  return spec;
}

}  // namespace

Result<ExchangeCalendar> ExchangeCalendar::Builtin(const std::string& code) {
  if (code == "XNYS" || code == "NYSE") return Create(NyseSpec());
  return Status::NotFound("no built-in calendar '" + code + "' (built in: XNYS)");
}

}  // namespace finlake::calendar
