// Which tables finlake may read and write (PROTOCOL.md "Protocol Evolution",
// "Reader/Writer Version Requirements", "Table Features").
#pragma once

#include "finlake/core/status.h"
#include "finlake/delta/snapshot.h"

namespace finlake::delta {

// Ok when every reader requirement of the table is implemented; otherwise
// Unsupported naming the version or feature. Never misread: refuse.
[[nodiscard]] Status CheckReadable(const Protocol& protocol, const Metadata& metadata);
// Ok when finlake may commit to the table.
[[nodiscard]] Status CheckWritable(const Protocol& protocol, const Metadata& metadata);

}  // namespace finlake::delta
