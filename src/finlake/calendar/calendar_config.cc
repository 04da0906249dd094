#include "finlake/calendar/calendar_config.h"

#include <yaml-cpp/yaml.h>

#include <cstdio>
#include <fstream>
#include <sstream>

namespace finlake::calendar {

namespace {

Result<unsigned> ParseWeekday(const std::string& text, const std::string& where) {
  static const char* kNames[] = {"sun", "mon", "tue", "wed", "thu", "fri", "sat"};
  std::string lower;
  for (char c : text) lower += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  for (unsigned i = 0; i < 7; ++i) {
    if (lower.rfind(kNames[i], 0) == 0) return i;
  }
  return Status::InvalidArgument(where + ": '" + text + "' is not a weekday (monday, tue, ...)");
}

Result<std::chrono::minutes> ParseClock(const YAML::Node& node, const std::string& where,
                                        std::chrono::minutes fallback) {
  if (!node) return fallback;
  int hours = 0, minutes = 0;
  std::string text = node.as<std::string>();
  if (std::sscanf(text.c_str(), "%d:%d", &hours, &minutes) != 2 || hours < 0 || hours > 23 || minutes < 0 ||
      minutes > 59) {
    return Status::InvalidArgument(where + ": '" + text + "' is not a time of day (HH:MM)");
  }
  return std::chrono::minutes(hours * 60 + minutes);
}

Result<DateRule> ParseRule(const YAML::Node& node, const std::string& where) {
  if (!node.IsMap()) return Status::InvalidArgument(where + ": a rule is a mapping ({name: ..., month: ..., ...})");
  DateRule rule;
  rule.name = node["name"] ? node["name"].as<std::string>() : where;
  if (node["easter_offset"]) {
    rule.kind = DateRule::Kind::kEaster;
    rule.offset_days = node["easter_offset"].as<int>();
  } else {
    if (!node["month"]) return Status::InvalidArgument(where + " (" + rule.name + "): needs month, or easter_offset");
    rule.month = node["month"].as<unsigned>();
    if (rule.month < 1 || rule.month > 12) return Status::InvalidArgument(where + ": month must be 1-12");
    if (node["weekday"]) {
      rule.kind = DateRule::Kind::kNthWeekday;
      ASSIGN_OR_RETURN(rule.weekday, ParseWeekday(node["weekday"].as<std::string>(), where));
      rule.nth = node["nth"] ? node["nth"].as<int>() : 1;
      if (rule.nth == 0 || rule.nth < -1 || rule.nth > 5) {
        return Status::InvalidArgument(where + " (" + rule.name + "): nth must be 1-5, or -1 for the last");
      }
    } else if (node["day"]) {
      rule.kind = DateRule::Kind::kFixed;
      rule.day = node["day"].as<unsigned>();
      if (rule.day < 1 || rule.day > 31) return Status::InvalidArgument(where + ": day must be 1-31");
    } else {
      return Status::InvalidArgument(where + " (" + rule.name + "): needs day, or weekday (with nth)");
    }
    if (node["offset_days"]) rule.offset_days = node["offset_days"].as<int>();
  }
  if (node["observance"]) {
    std::string observance = node["observance"].as<std::string>();
    if (observance == "none") rule.observance = Observance::kNone;
    else if (observance == "nearest_weekday") rule.observance = Observance::kNearestWeekday;
    else if (observance == "sunday_to_monday") rule.observance = Observance::kSundayToMonday;
    else if (observance == "weekend_to_monday") rule.observance = Observance::kWeekendToMonday;
    else {
      return Status::InvalidArgument(where + " (" + rule.name + "): observance '" + observance +
                                     "' is not none, nearest_weekday, sunday_to_monday or weekend_to_monday");
    }
  }
  if (node["weekdays"]) {
    for (const YAML::Node& day : node["weekdays"]) {
      ASSIGN_OR_RETURN(unsigned weekday, ParseWeekday(day.as<std::string>(), where));
      rule.weekdays.insert(weekday);
    }
  }
  if (node["from"]) rule.first_year = node["from"].as<int>();
  if (node["to"]) rule.last_year = node["to"].as<int>();
  return rule;
}

Result<std::vector<Day>> ParseDays(const YAML::Node& node, const std::string& where) {
  std::vector<Day> days;
  if (!node) return days;
  for (const YAML::Node& item : node) {
    auto day = ParseDay(item.as<std::string>());
    if (!day.ok()) return day.status().WithContext(where);
    days.push_back(*day);
  }
  return days;
}

Result<CalendarSpec> ParseSpec(const std::string& code, const YAML::Node& node, const std::string& source) {
  std::string where = source + ": calendars." + code;
  if (!node.IsMap()) return Status::InvalidArgument(where + " must be a mapping");
  CalendarSpec spec;
  spec.code = code;
  spec.name = node["name"] ? node["name"].as<std::string>() : code;
  if (!node["time_zone"]) return Status::InvalidArgument(where + ": time_zone is required (e.g. Europe/London)");
  spec.time_zone = node["time_zone"].as<std::string>();
  ASSIGN_OR_RETURN(spec.open, ParseClock(node["open"], where + ".open", spec.open));
  ASSIGN_OR_RETURN(spec.close, ParseClock(node["close"], where + ".close", spec.close));
  ASSIGN_OR_RETURN(spec.early_close, ParseClock(node["early_close"], where + ".early_close", spec.early_close));
  if (node["weekend"]) {
    spec.weekend.clear();
    for (const YAML::Node& day : node["weekend"]) {
      ASSIGN_OR_RETURN(unsigned weekday, ParseWeekday(day.as<std::string>(), where + ".weekend"));
      spec.weekend.insert(weekday);
    }
  }
  int index = 0;
  for (const YAML::Node& rule : node["holidays"]) {
    ASSIGN_OR_RETURN(DateRule parsed, ParseRule(rule, where + ".holidays[" + std::to_string(index++) + "]"));
    spec.holidays.push_back(std::move(parsed));
  }
  index = 0;
  for (const YAML::Node& rule : node["early_closes"]) {
    ASSIGN_OR_RETURN(DateRule parsed, ParseRule(rule, where + ".early_closes[" + std::to_string(index++) + "]"));
    spec.early_closes.push_back(std::move(parsed));
  }
  ASSIGN_OR_RETURN(spec.adhoc_closures, ParseDays(node["closures"], where + ".closures"));
  ASSIGN_OR_RETURN(spec.adhoc_early_closes, ParseDays(node["early_close_days"], where + ".early_close_days"));
  if (node["first_year"]) spec.first_year = node["first_year"].as<int>();
  if (node["last_year"]) spec.last_year = node["last_year"].as<int>();
  return spec;
}

}  // namespace

Result<std::map<std::string, CalendarSpec>> ParseCalendarsYaml(const std::string& yaml_text, const std::string& source) {
  std::map<std::string, CalendarSpec> specs;
  try {
    YAML::Node root = YAML::Load(yaml_text);
    if (!root || !root["calendars"]) return specs;
    if (!root["calendars"].IsMap()) return Status::InvalidArgument(source + ": calendars must be a mapping of codes");
    for (const auto& entry : root["calendars"]) {
      std::string code = entry.first.as<std::string>();
      ASSIGN_OR_RETURN(CalendarSpec spec, ParseSpec(code, entry.second, source));
      specs.emplace(code, std::move(spec));
    }
  } catch (const YAML::Exception& error) {
    return Status::InvalidArgument(source + ": " + error.what());
  }
  return specs;
}

Result<ExchangeCalendar> ResolveCalendar(const std::string& code, const std::string& config_path) {
  std::ifstream in(config_path);
  if (in) {
    std::stringstream text;
    text << in.rdbuf();
    ASSIGN_OR_RETURN(auto specs, ParseCalendarsYaml(text.str(), config_path));
    if (auto it = specs.find(code); it != specs.end()) return ExchangeCalendar::Create(it->second);
  }
  return ExchangeCalendar::Builtin(code);
}

}  // namespace finlake::calendar
