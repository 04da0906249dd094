// CheckpointCodec on DuckDB's Parquet reader and writer.
#pragma once

#include <memory>
#include <mutex>

#include "finlake/delta/checkpoint_codec.h"
#include "finlake/engine/engine.h"

namespace finlake::table {

// Thread-safe: calls are serialised on one connection.
class DuckCheckpointCodec final : public delta::CheckpointCodec {
 public:
  explicit DuckCheckpointCodec(engine::Database* database) : database_(database) {}

  Result<std::vector<delta::Action>> Read(const Storage& storage,
                                          const std::vector<std::string>& part_paths) override;
  Result<std::string> Encode(const std::vector<delta::Action>& actions) override;

 private:
  Result<engine::Connection*> connection();

  engine::Database* database_;
  std::mutex mutex_;
  std::unique_ptr<engine::Connection> connection_;  // Guarded by mutex_.
};

}  // namespace finlake::table
