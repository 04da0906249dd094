#include "finlake/ingest/generator_server.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <map>

#include "finlake/core/limits.h"
#include "finlake/core/strings.h"

namespace finlake::ingest {

namespace {

std::map<std::string, std::string> ParseQuery(const std::string& query) {
  std::map<std::string, std::string> params;
  for (const std::string& pair : Split(query, '&')) {
    size_t eq = pair.find('=');
    std::string key = pair.substr(0, eq), value = eq == std::string::npos ? "" : pair.substr(eq + 1), decoded;
    for (char& c : value) {
      if (c == '+') c = ' ';
    }
    if (PercentDecode(value, &decoded)) params[key] = decoded;
  }
  return params;
}

int64_t RangeDays(const std::string& range) {
  static const std::map<std::string, int64_t> kDays = {{"1d", 1},    {"5d", 7},     {"1mo", 31},   {"3mo", 92},
                                                        {"6mo", 183}, {"1y", 366},   {"2y", 731},   {"5y", 1827},
                                                        {"10y", 3653}, {"ytd", 366}, {"max", 20000}};
  auto it = kDays.find(range);
  return it == kDays.end() ? -1 : it->second;
}

bool SendAll(int fd, const std::string& data) {
  size_t sent = 0;
  while (sent < data.size()) {
    ssize_t n = ::send(fd, data.data() + sent, data.size() - sent, MSG_NOSIGNAL);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    sent += static_cast<size_t>(n);
  }
  return true;
}

}  // namespace

Result<std::unique_ptr<GeneratorServer>> GeneratorServer::Start(const MarketGenerator* generator, int port,
                                                                 std::optional<int64_t> now_s) {
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return Status::IOError(std::string("generator server: socket: ") + std::strerror(errno));
  int one = 1;
  ::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  address.sin_port = htons(static_cast<uint16_t>(port));
  if (::bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof(address)) != 0 || ::listen(fd, 128) != 0) {
    std::string error = std::strerror(errno);
    ::close(fd);
    return Status::IOError("generator server: cannot listen on 127.0.0.1:" + std::to_string(port) + ": " + error);
  }
  socklen_t length = sizeof(address);
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&address), &length);
  std::unique_ptr<GeneratorServer> server(new GeneratorServer(generator, fd, ntohs(address.sin_port), now_s));
  server->acceptor_ = std::thread([raw = server.get()] { raw->AcceptLoop(); });
  return server;
}

GeneratorServer::~GeneratorServer() { Stop(); }

void GeneratorServer::Stop() {
  if (stopping_.exchange(true)) return;
  if (acceptor_.joinable()) acceptor_.join();
  ::close(listen_fd_);
  std::vector<std::thread> workers;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    for (int fd : open_fds_) ::shutdown(fd, SHUT_RDWR);
    workers.swap(workers_);
  }
  for (std::thread& worker : workers) worker.join();
}

void GeneratorServer::AcceptLoop() {
  while (!stopping_) {
    pollfd poll_fd{listen_fd_, POLLIN, 0};
    if (::poll(&poll_fd, 1, 100) <= 0) continue;  // Wakes every 100 ms to notice Stop.
    int fd = ::accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC);
    if (fd < 0) continue;
    if (connections_.load() >= limits::kGeneratorConnectionsMax) {
      SendAll(fd, "HTTP/1.1 503 Service Unavailable\r\nContent-Length: 0\r\nConnection: close\r\n\r\n");
      ::close(fd);
      continue;
    }
    int one = 1;
    ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    ++connections_;
    std::lock_guard<std::mutex> lock(mutex_);
    open_fds_.push_back(fd);
    workers_.emplace_back([this, fd] { Serve(fd); });
  }
}

void GeneratorServer::Serve(int fd) {
  std::string buffer;
  char chunk[8192];
  while (!stopping_) {
    size_t end = buffer.find("\r\n\r\n");
    if (end == std::string::npos) {
      if (buffer.size() > limits::kGeneratorRequestBytesMax) break;
      ssize_t n = ::recv(fd, chunk, sizeof(chunk), 0);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) break;
      buffer.append(chunk, static_cast<size_t>(n));
      continue;
    }
    std::string head = buffer.substr(0, end);
    buffer.erase(0, end + 4);
    // GET requests only: no body to skip. "GET /path?query HTTP/1.1".
    std::vector<std::string> request_line = Split(head.substr(0, head.find("\r\n")), ' ');
    int status = 200;
    std::string content_type = "application/json;charset=utf-8", body, extra;
    if (request_line.size() != 3 || request_line[0] != "GET") {
      status = 405;
      content_type = "text/plain";
      body = "only GET";
    } else {
      Route(request_line[1], &status, &content_type, &body, &extra);
    }
    ++requests_;
    bool close = ToLower(head).find("connection: close") != std::string::npos;
    static const std::map<int, const char*> kReasons = {{200, "OK"}, {400, "Bad Request"}, {404, "Not Found"},
                                                        {405, "Method Not Allowed"}};
    auto reason = kReasons.find(status);
    std::string response = "HTTP/1.1 " + std::to_string(status) + " " +
                           (reason == kReasons.end() ? "Error" : reason->second) + "\r\nContent-Type: " + content_type +
                           "\r\nContent-Length: " + std::to_string(body.size()) + "\r\n" + extra +
                           (close ? "Connection: close\r\n" : "") + "\r\n" + body;
    if (!SendAll(fd, response) || close) break;
  }
  {
    std::lock_guard<std::mutex> lock(mutex_);
    open_fds_.erase(std::remove(open_fds_.begin(), open_fds_.end(), fd), open_fds_.end());
  }
  ::close(fd);
  --connections_;
}

void GeneratorServer::Route(const std::string& target, int* status, std::string* content_type, std::string* body,
                            std::string* extra_headers) {
  size_t question = target.find('?');
  std::string path = target.substr(0, question);
  auto params = ParseQuery(question == std::string::npos ? "" : target.substr(question + 1));
  int64_t now = now_s_.value_or(
      std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch()).count());
  const std::string chart = "/v8/finance/chart/";
  if (StartsWith(path, chart)) {
    std::string symbol;
    if (!PercentDecode(path.substr(chart.size()), &symbol) || symbol.empty()) symbol = "?";
    std::string interval = params.count("interval") ? params["interval"] : "1d";
    int64_t period1 = 0, period2 = now;
    if (params.count("range")) {
      int64_t days = RangeDays(params["range"]);
      period1 = days < 0 ? now : now - days * 86400;
    } else {
      period1 = params.count("period1") ? std::atoll(params["period1"].c_str()) : now - 30 * 86400;
      period2 = params.count("period2") ? std::atoll(params["period2"].c_str()) : now;
    }
    *body = generator_->YahooChart(symbol, interval, period1, period2, now, status);
  } else if (path == "/cookie") {
    *status = 404;
    *content_type = "text/html";
    *body = "Not Found";
    *extra_headers = "Set-Cookie: A3=generator-session; Path=/\r\n";
  } else if (path == "/v1/test/getcrumb") {
    *content_type = "text/plain";
    *body = "generatorcrumb";
  } else if (path == "/query") {
    if (params["function"] != "TIME_SERIES_DAILY") {
      *body = R"({"Error Message":"Invalid API call. The generator serves TIME_SERIES_DAILY."})";
    } else {
      *body = generator_->AlphaVantageDaily(params["symbol"], params["outputsize"] == "full", now);
    }
  } else {
    *status = 404;
    *content_type = "text/plain";
    *body = "no such endpoint";
  }
}

}  // namespace finlake::ingest
