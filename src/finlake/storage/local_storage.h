// Storage on a POSIX file system.
#pragma once

#include <memory>

#include "finlake/storage/storage.h"

namespace finlake {

// PutIfAbsent writes a staged file beside the target, fsyncs it, link()s it to the
// target name (EEXIST means another writer won), unlinks the staged name and
// fsyncs the directory. It never uses rename(), which silently replaces a file.
std::unique_ptr<Storage> NewLocalStorage();

}  // namespace finlake
