// A local HTTP/1.1 server that answers like Yahoo Finance (chart API, cookie and
// crumb) and Alpha Vantage (TIME_SERIES_DAILY) from the market generator, so the
// real connectors run end to end in demos, tests and benchmarks without the
// internet. Binds 127.0.0.1 only.
//
// Thread-safe: Start, port and Stop from one owner; connections are served on
// their own threads (at most limits::kGeneratorConnectionsMax at once).
#pragma once

#include <atomic>
#include <memory>
#include <mutex>
#include <optional>
#include <thread>
#include <vector>

#include "finlake/core/status.h"
#include "finlake/ingest/market_generator.h"

namespace finlake::ingest {

class GeneratorServer {
 public:
  // port 0 picks a free port. `now_s` fixes the server's notion of now (for
  // reproducible answers); unset, the wall clock.
  [[nodiscard]] static Result<std::unique_ptr<GeneratorServer>> Start(const MarketGenerator* generator, int port,
                                                                      std::optional<int64_t> now_s = std::nullopt);
  ~GeneratorServer();

  int port() const { return port_; }
  std::string url() const { return "http://127.0.0.1:" + std::to_string(port_); }
  int64_t requests() const { return requests_.load(); }
  void Stop();

 private:
  GeneratorServer(const MarketGenerator* generator, int listen_fd, int port, std::optional<int64_t> now_s)
      : generator_(generator), listen_fd_(listen_fd), port_(port), now_s_(now_s) {}
  void AcceptLoop();
  void Serve(int fd);
  // Answers one request: status, content type, body, extra headers.
  void Route(const std::string& target, int* status, std::string* content_type, std::string* body,
             std::string* extra_headers);

  const MarketGenerator* generator_;
  int listen_fd_;
  int port_;
  std::optional<int64_t> now_s_;
  std::atomic<bool> stopping_{false};
  std::atomic<int64_t> requests_{0};
  std::atomic<int> connections_{0};
  std::thread acceptor_;
  std::mutex mutex_;
  std::vector<std::thread> workers_;  // Guarded by mutex_.
  std::vector<int> open_fds_;         // Guarded by mutex_: shut down on Stop.
};

}  // namespace finlake::ingest
