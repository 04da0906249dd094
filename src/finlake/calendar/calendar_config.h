// Exchange calendars described in a lake's finlake.yaml (`calendars:`), so any
// exchange can be added without code. The format is documented in
// docs/config.md; an example:
//
//   calendars:
//     XLON:
//       name: London Stock Exchange
//       time_zone: Europe/London
//       open: "08:00"
//       close: "16:30"
//       early_close: "12:30"
//       holidays:
//         - {name: New Year's Day, month: 1, day: 1, observance: weekend_to_monday}
//         - {name: Good Friday, easter_offset: -2}
//         - {name: Early May bank holiday, month: 5, weekday: monday, nth: 1}
//       early_closes:
//         - {name: Christmas Eve, month: 12, day: 24, weekdays: [mon, tue, wed, thu, fri]}
//       closures: [2022-09-19]
#pragma once

#include <map>
#include <string>

#include "finlake/calendar/exchange_calendar.h"
#include "finlake/core/status.h"

namespace finlake::calendar {

// Parses the `calendars:` section of a YAML document. Errors name the calendar,
// the entry and the rule broken.
[[nodiscard]] Result<std::map<std::string, CalendarSpec>> ParseCalendarsYaml(const std::string& yaml_text,
                                                                             const std::string& source);

// The calendar `code`: from `config_path` (a finlake.yaml, when it exists and
// defines it), else built in.
[[nodiscard]] Result<ExchangeCalendar> ResolveCalendar(const std::string& code, const std::string& config_path);

}  // namespace finlake::calendar
