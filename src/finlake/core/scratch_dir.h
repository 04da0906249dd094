// A private directory under the system temp dir, removed with everything in it
// when the object goes out of scope.
#pragma once

#include <filesystem>
#include <string>

#include "finlake/core/strings.h"

namespace finlake {

class ScratchDir {
 public:
  explicit ScratchDir(const std::string& prefix = "finlake-")
      : path_((std::filesystem::temp_directory_path() / (prefix + NewUuid())).string()) {
    std::filesystem::create_directories(path_);
  }
  ~ScratchDir() {
    std::error_code ignored;
    std::filesystem::remove_all(path_, ignored);
  }
  ScratchDir(const ScratchDir&) = delete;
  ScratchDir& operator=(const ScratchDir&) = delete;

  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

}  // namespace finlake
