// The symbols a lake collects (`universe:` in finlake.yaml): each with its exchange
// (calendar), region (bronze partition) and currency.
//
//   universe:
//     - {symbol: AAPL, exchange: XNYS, region: us, currency: USD}
//     - {symbol: SAP.DE, exchange: XETR, region: eu, currency: EUR}
#pragma once

#include <string>
#include <vector>

#include "finlake/core/status.h"

namespace finlake::ingest {

struct Instrument {
  std::string symbol;
  std::string exchange = "XNYS";
  std::string region = "us";
  std::string currency = "USD";
};

// The universe in `config_path`; empty when the file or the section is absent.
[[nodiscard]] Result<std::vector<Instrument>> LoadUniverse(const std::string& config_path);

}  // namespace finlake::ingest
