// Exchange calendars: which days an exchange trades, and when its sessions open
// and close in UTC (DESIGN.md "Time": daily data is keyed by the exchange's session
// date, never the UTC date).
//
// A calendar is data — rules for recurring holidays and early closes, plus lists
// of one-off closures — so NYSE is built in and other exchanges can be described
// in configuration with the same pieces. Session times are local wall-clock times
// in the exchange's IANA time zone, converted with the system tz database, so
// daylight saving is handled.
//
// Thread-safe after construction (all methods are const).
#pragma once

#include <chrono>
#include <climits>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "finlake/core/status.h"

namespace date {
class time_zone;
}

namespace finlake::calendar {

using Day = std::chrono::sys_days;
using Instant = std::chrono::sys_seconds;

// When a holiday falls on a weekend, which weekday (if any) is closed instead.
enum class Observance {
  kNone,                // Only the day itself; nothing when it is a weekend.
  kNearestWeekday,      // Saturday -> Friday, Sunday -> Monday.
  kSundayToMonday,      // Sunday -> Monday; Saturday -> not observed (NYSE New Year).
  kWeekendToMonday,     // Saturday or Sunday -> the Monday after (UK bank holidays).
};

// A date that recurs every year.
struct DateRule {
  enum class Kind { kFixed, kNthWeekday, kEaster };
  std::string name;
  Kind kind = Kind::kFixed;
  unsigned month = 1, day = 1;     // kFixed: the date; kNthWeekday: the month.
  unsigned weekday = 0;            // kNthWeekday: 0 = Sunday ... 6 = Saturday.
  int nth = 1;                     // kNthWeekday: 1..5, or -1 for the last.
  int offset_days = 0;             // Added after the rule (Good Friday = Easter - 2).
  Observance observance = Observance::kNone;
  std::set<unsigned> weekdays;     // When not empty: only if the date falls on one of these.
  int first_year = INT_MIN, last_year = INT_MAX;

  // The date in `year` (after observance), or nothing when the rule does not apply.
  std::optional<Day> In(int year) const;
};

struct CalendarSpec {
  std::string code;                      // "XNYS"
  std::string name;                      // "New York Stock Exchange"
  std::string time_zone;                 // IANA name: "America/New_York"
  std::chrono::minutes open{570};        // Local time of the regular open (09:30).
  std::chrono::minutes close{960};       // Regular close (16:00).
  std::chrono::minutes early_close{780}; // Close on early-close days (13:00).
  std::set<unsigned> weekend = {0, 6};   // Weekdays that never trade (0 = Sunday).
  std::vector<DateRule> holidays;        // Full closures that recur.
  std::vector<DateRule> early_closes;    // Early closes that recur.
  std::vector<Day> adhoc_closures;       // One-off full closures (storms, mourning).
  std::vector<Day> adhoc_early_closes;   // One-off early closes.
  int first_year = 2000, last_year = 2035;  // The years the rules are known to hold.
};

struct Session {
  Day date;             // The session date in the exchange's zone.
  Instant open;         // UTC.
  Instant close;        // UTC.
  bool early_close = false;
};

// A weekday that is not a regular full session.
struct SpecialDay {
  Day date;
  std::string kind;                         // "closed" or "early_close".
  std::optional<std::chrono::minutes> close;  // Local close time of an early close.
  std::string name;                         // "Christmas", "Hurricane Sandy", ...
};

class ExchangeCalendar {
 public:
  // Fails when the time zone is unknown or the spec contradicts itself.
  [[nodiscard]] static Result<ExchangeCalendar> Create(CalendarSpec spec);
  // The built-in calendars: "XNYS" (NYSE; also "NYSE"). NotFound names the known ones.
  [[nodiscard]] static Result<ExchangeCalendar> Builtin(const std::string& code);

  const CalendarSpec& spec() const { return spec_; }

  bool IsSession(Day day) const;
  // The session on `day`, or nothing on weekends and closures.
  std::optional<Session> SessionOn(Day day) const;
  // Sessions with from <= date <= to.
  std::vector<Session> Sessions(Day from, Day to) const;
  // The first session strictly after / before `day`.
  Session NextSession(Day day) const;
  Session PreviousSession(Day day) const;
  // Full closures on weekdays and early closes of one year, by date.
  std::vector<SpecialDay> SpecialDays(int year) const;
  // The UTC instant of a local wall-clock time on `day` in the exchange's zone.
  Instant LocalToUtc(Day day, std::chrono::minutes local) const;
  // The exchange's local date at a UTC instant.
  Day LocalDay(Instant instant) const;
  // Whether `year` lies in the years the calendar's rules are known to hold.
  bool Covers(int year) const { return year >= spec_.first_year && year <= spec_.last_year; }

 private:
  ExchangeCalendar(CalendarSpec spec, const date::time_zone* zone) : spec_(std::move(spec)), zone_(zone) {}
  std::optional<std::string> ClosureName(Day day) const;
  std::optional<std::string> EarlyCloseName(Day day) const;

  CalendarSpec spec_;
  const date::time_zone* zone_;
};

// "2026-07-03" <-> Day.
[[nodiscard]] Result<Day> ParseDay(const std::string& text);
std::string FormatDay(Day day);
std::string FormatMinutes(std::chrono::minutes local);  // "13:00"

}  // namespace finlake::calendar
