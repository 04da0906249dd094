#include "finlake/calendar/exchange_calendar.h"

#include <date/tz.h>

#include <algorithm>
#include <cstdio>

namespace finlake::calendar {

using std::chrono::days;
using std::chrono::minutes;
using std::chrono::year;
using std::chrono::year_month_day;

namespace {

unsigned WeekdayOf(Day day) { return std::chrono::weekday(day).c_encoding(); }

// Easter Sunday in the Gregorian calendar (the anonymous Gregorian algorithm).
Day EasterSunday(int y) {
  int a = y % 19, b = y / 100, c = y % 100, d = b / 4, e = b % 4, f = (b + 8) / 25, g = (b - f + 1) / 3;
  int h = (19 * a + b - d - g + 15) % 30, i = c / 4, k = c % 4, l = (32 + 2 * e + 2 * i - h - k) % 7;
  int m = (a + 11 * h + 22 * l) / 451;
  unsigned month = static_cast<unsigned>((h + l - 7 * m + 114) / 31);
  unsigned day = static_cast<unsigned>((h + l - 7 * m + 114) % 31 + 1);
  return Day(year_month_day{year{y}, std::chrono::month{month}, std::chrono::day{day}});
}

}  // namespace

std::optional<Day> DateRule::In(int y) const {
  if (y < first_year || y > last_year) return std::nullopt;
  Day date;
  switch (kind) {
    case Kind::kFixed:
      date = Day(year_month_day{year{y}, std::chrono::month{month}, std::chrono::day{day}});
      break;
    case Kind::kNthWeekday: {
      std::chrono::weekday wd{weekday};
      if (nth > 0) {
        date = Day(std::chrono::year_month_weekday{year{y}, std::chrono::month{month},
                                                   wd[static_cast<unsigned>(nth)]});
      } else {
        date = Day(std::chrono::year_month_weekday_last{year{y}, std::chrono::month{month},
                                                        std::chrono::weekday_last{wd}});
      }
      break;
    }
    case Kind::kEaster:
      date = EasterSunday(y);
      break;
  }
  date += days{offset_days};
  unsigned wd = WeekdayOf(date);
  switch (observance) {
    case Observance::kNone:
      break;
    case Observance::kNearestWeekday:
      if (wd == 6) date -= days{1};
      else if (wd == 0) date += days{1};
      break;
    case Observance::kSundayToMonday:
      if (wd == 6) return std::nullopt;
      if (wd == 0) date += days{1};
      break;
    case Observance::kWeekendToMonday:
      if (wd == 6) date += days{2};
      else if (wd == 0) date += days{1};
      break;
  }
  if (!weekdays.empty() && !weekdays.count(WeekdayOf(date))) return std::nullopt;
  return date;
}

Result<ExchangeCalendar> ExchangeCalendar::Create(CalendarSpec spec) {
  const date::time_zone* zone = nullptr;
  try {
    zone = date::locate_zone(spec.time_zone);
  } catch (const std::exception& error) {
    return Status::InvalidArgument("calendar " + spec.code + ": unknown time zone '" + spec.time_zone +
                                   "' (an IANA name such as America/New_York): " + error.what());
  }
  if (spec.open >= spec.close || spec.early_close <= spec.open || spec.early_close > spec.close) {
    return Status::InvalidArgument("calendar " + spec.code + ": needs open < early close <= close (got " +
                                   FormatMinutes(spec.open) + ", " + FormatMinutes(spec.early_close) + ", " +
                                   FormatMinutes(spec.close) + ")");
  }
  std::sort(spec.adhoc_closures.begin(), spec.adhoc_closures.end());
  std::sort(spec.adhoc_early_closes.begin(), spec.adhoc_early_closes.end());
  return ExchangeCalendar(std::move(spec), zone);
}

std::optional<std::string> ExchangeCalendar::ClosureName(Day day) const {
  if (std::binary_search(spec_.adhoc_closures.begin(), spec_.adhoc_closures.end(), day)) return "special closure";
  int y = static_cast<int>(year_month_day(day).year());
  // A rule of the next or previous year can land here (New Year observed on Dec 31).
  for (int candidate : {y, y + 1, y - 1}) {
    for (const DateRule& rule : spec_.holidays) {
      if (auto date = rule.In(candidate); date && *date == day) return rule.name;
    }
  }
  return std::nullopt;
}

std::optional<std::string> ExchangeCalendar::EarlyCloseName(Day day) const {
  if (std::binary_search(spec_.adhoc_early_closes.begin(), spec_.adhoc_early_closes.end(), day)) {
    return "special early close";
  }
  int y = static_cast<int>(year_month_day(day).year());
  for (const DateRule& rule : spec_.early_closes) {
    if (auto date = rule.In(y); date && *date == day) return rule.name;
  }
  return std::nullopt;
}

bool ExchangeCalendar::IsSession(Day day) const {
  return !spec_.weekend.count(WeekdayOf(day)) && !ClosureName(day);
}

Instant ExchangeCalendar::LocalToUtc(Day day, minutes local) const {
  auto local_time = date::local_days{date::year_month_day{date::sys_days{day.time_since_epoch()}}} + local;
  // Exchanges open and close outside the DST transition hour, so the local time is
  // never ambiguous or skipped; `earliest` keeps the conversion total regardless.
  return std::chrono::time_point_cast<std::chrono::seconds>(
      Instant(zone_->to_sys(local_time, date::choose::earliest).time_since_epoch()));
}

Day ExchangeCalendar::LocalDay(Instant instant) const {
  auto local = zone_->to_local(date::sys_seconds{instant.time_since_epoch()});
  return Day(std::chrono::floor<std::chrono::days>(local.time_since_epoch()));
}

std::optional<Session> ExchangeCalendar::SessionOn(Day day) const {
  if (!IsSession(day)) return std::nullopt;
  bool early = EarlyCloseName(day).has_value();
  return Session{day, LocalToUtc(day, spec_.open), LocalToUtc(day, early ? spec_.early_close : spec_.close), early};
}

std::vector<Session> ExchangeCalendar::Sessions(Day from, Day to) const {
  std::vector<Session> sessions;
  for (Day day = from; day <= to; day += days{1}) {
    if (auto session = SessionOn(day)) sessions.push_back(*session);
  }
  return sessions;
}

Session ExchangeCalendar::NextSession(Day day) const {
  // Bounded: no exchange closes for more than a few weeks in a row.
  for (int i = 1; i <= 366; ++i) {
    if (auto session = SessionOn(day + days{i})) return *session;
  }
  return Session{day, {}, {}, false};
}

Session ExchangeCalendar::PreviousSession(Day day) const {
  for (int i = 1; i <= 366; ++i) {
    if (auto session = SessionOn(day - days{i})) return *session;
  }
  return Session{day, {}, {}, false};
}

std::vector<SpecialDay> ExchangeCalendar::SpecialDays(int y) const {
  std::vector<SpecialDay> out;
  Day first = Day(year_month_day{year{y}, std::chrono::January, std::chrono::day{1}});
  Day last = Day(year_month_day{year{y}, std::chrono::December, std::chrono::day{31}});
  for (Day day = first; day <= last; day += days{1}) {
    if (spec_.weekend.count(WeekdayOf(day))) continue;
    if (auto name = ClosureName(day)) {
      out.push_back(SpecialDay{day, "closed", std::nullopt, *name});
    } else if (auto early = EarlyCloseName(day)) {
      out.push_back(SpecialDay{day, "early_close", spec_.early_close, *early});
    }
  }
  return out;
}

Result<Day> ParseDay(const std::string& text) {
  int y = 0;
  unsigned m = 0, d = 0;
  char tail = 0;
  if (std::sscanf(text.c_str(), "%4d-%2u-%2u%c", &y, &m, &d, &tail) != 3) {
    return Status::InvalidArgument("'" + text + "' is not a date (YYYY-MM-DD)");
  }
  year_month_day date{year{y}, std::chrono::month{m}, std::chrono::day{d}};
  if (!date.ok()) return Status::InvalidArgument("'" + text + "' is not a valid date");
  return Day(date);
}

std::string FormatDay(Day day) {
  year_month_day date(day);
  char text[16];
  std::snprintf(text, sizeof(text), "%04d-%02u-%02u", static_cast<int>(date.year()),
                static_cast<unsigned>(date.month()), static_cast<unsigned>(date.day()));
  return text;
}

std::string FormatMinutes(minutes local) {
  char text[8];
  std::snprintf(text, sizeof(text), "%02d:%02d", static_cast<int>(local.count() / 60),
                static_cast<int>(local.count() % 60));
  return text;
}

}  // namespace finlake::calendar
