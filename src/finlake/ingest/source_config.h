// Per-source settings from finlake.yaml (`sources:`), so scheduled runs need no
// flags. Command-line flags win over these; these win over the defaults.
//
//   sources:
//     yahoo: {base_url: "https://query2.finance.yahoo.com", requests_per_minute: 60, concurrency: 4}
//     alphavantage: {api_key_env: MY_AV_KEY, requests_per_day: 25}
//     files:
//       - {inbox: /data/inbox/orders, table: bronze.orders, format: csv, create: true}
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "finlake/core/status.h"
#include "finlake/ingest/file_inbox.h"

namespace finlake::ingest {

struct SourceConfig {
  std::optional<std::string> base_url;
  std::optional<std::string> api_key;      // Prefer api_key_env: a key in a file is easy to leak.
  std::optional<std::string> api_key_env;  // The environment variable holding the key.
  std::optional<int64_t> requests_per_minute, requests_per_day, timeout_ms;
  std::optional<int> concurrency, retries;
};

// `sources.<name>` of the config file; empty when absent.
[[nodiscard]] Result<SourceConfig> LoadSourceConfig(const std::string& config_path, const std::string& name);
// `sources.files`: the inboxes and the tables they land in.
[[nodiscard]] Result<std::vector<InboxOptions>> LoadInboxes(const std::string& config_path);

}  // namespace finlake::ingest
