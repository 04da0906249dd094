// The Parquet encoding of checkpoints (PROTOCOL.md "Checkpoints", "Checkpoint Schema").
//
// The log code decides what goes into a checkpoint; reading and writing Parquet is
// delegated to an engine (DuckDB, see table/duck_checkpoint_codec.h) so that delta/
// stays free of I/O and of the engine.
#pragma once

#include <string>
#include <vector>

#include "finlake/core/status.h"
#include "finlake/delta/actions.h"
#include "finlake/storage/storage.h"

namespace finlake::delta {

class CheckpointCodec {
 public:
  virtual ~CheckpointCodec() = default;
  // Reads the actions of a checkpoint, all parts in order. Unknown columns are
  // ignored; `add.stats_parsed` is turned into the `stats` JSON string when `stats`
  // is absent.
  [[nodiscard]] virtual Result<std::vector<Action>> Read(const Storage& storage,
                                                         const std::vector<std::string>& part_paths) = 0;
  // Encodes actions (protocol, metaData, txn, add, remove only) as a V1-spec
  // classic checkpoint and returns the Parquet file's bytes.
  [[nodiscard]] virtual Result<std::string> Encode(const std::vector<Action>& actions) = 0;
};

}  // namespace finlake::delta
