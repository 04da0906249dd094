#include "finlake/core/http_client.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdlib>
#include <deque>
#include <map>
#include <mutex>
#include <thread>

#include "finlake/core/strings.h"
#include "testing/fake_time.h"

namespace finlake {
namespace {

using testing::FakeClock;
using testing::GatedSleeper;
using testing::RecordingSleeper;

// ---------------------------------------------------------------------------------
// A tiny HTTP/1.1 server on 127.0.0.1 for the tests: one thread accepts, one thread
// per connection answers requests in order with scripted responses (then "200
// default" once the script runs out). Keep-alive like a real server, so connection
// reuse is visible in connections_accepted(). Every loop polls in 20 ms steps and
// ends on stop or after kLifetime, so a broken test cannot hang the suite.

struct ScriptedResponse {
  int status = 200;
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;
  int delay_ms = 0;             // Before answering (a slow server).
  bool close_mid_body = false;  // Announce the full Content-Length, send half, close.
};

struct ReceivedRequest {
  std::string method;
  std::string target;
  std::map<std::string, std::string> headers;  // Names lower-cased.
  std::string body;
};

class TestHttpServer {
 public:
  static constexpr auto kLifetime = std::chrono::seconds(30);

  TestHttpServer() : deadline_(std::chrono::steady_clock::now() + kLifetime) {
    listen_fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    EXPECT_GE(listen_fd_, 0);
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    address.sin_port = 0;
    EXPECT_EQ(::bind(listen_fd_, reinterpret_cast<sockaddr*>(&address), sizeof(address)), 0);
    EXPECT_EQ(::listen(listen_fd_, 16), 0);
    socklen_t length = sizeof(address);
    EXPECT_EQ(::getsockname(listen_fd_, reinterpret_cast<sockaddr*>(&address), &length), 0);
    port_ = ntohs(address.sin_port);
    accept_thread_ = std::thread([this] { AcceptLoop(); });
  }

  ~TestHttpServer() {
    stop_ = true;
    accept_thread_.join();
    for (std::thread& thread : connection_threads_) thread.join();
    ::close(listen_fd_);
  }

  void Script(std::vector<ScriptedResponse> responses) {
    std::lock_guard<std::mutex> lock(mutex_);
    for (auto& response : responses) script_.push_back(std::move(response));
  }

  std::string Url(const std::string& target) const { return "http://127.0.0.1:" + std::to_string(port_) + target; }
  int connections_accepted() const { return connections_accepted_.load(); }
  std::vector<ReceivedRequest> requests() const {
    std::lock_guard<std::mutex> lock(mutex_);
    return requests_;
  }

 private:
  bool Running() const { return !stop_ && std::chrono::steady_clock::now() < deadline_; }

  void AcceptLoop() {
    while (Running()) {
      pollfd ready{listen_fd_, POLLIN, 0};
      if (::poll(&ready, 1, 20) <= 0) continue;
      int fd = ::accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC);
      if (fd < 0) continue;
      ++connections_accepted_;
      connection_threads_.emplace_back([this, fd] {
        Serve(fd);
        ::close(fd);
      });
    }
  }

  // Appends what arrives; false when the peer closed or the server stops.
  bool ReadSome(int fd, std::string* buffer) {
    while (Running()) {
      pollfd ready{fd, POLLIN, 0};
      int polled = ::poll(&ready, 1, 20);
      if (polled == 0) continue;
      if (polled < 0) return false;
      char chunk[4096];
      ssize_t received = ::recv(fd, chunk, sizeof(chunk), 0);
      if (received <= 0) return false;
      buffer->append(chunk, static_cast<size_t>(received));
      return true;
    }
    return false;
  }

  static bool SendAll(int fd, std::string_view data) {
    while (!data.empty()) {
      ssize_t sent = ::send(fd, data.data(), data.size(), MSG_NOSIGNAL);
      if (sent <= 0) return false;
      data.remove_prefix(static_cast<size_t>(sent));
    }
    return true;
  }

  void Serve(int fd) {
    std::string buffer;
    for (int served = 0; served < 1000 && Running(); ++served) {
      size_t header_end;
      while ((header_end = buffer.find("\r\n\r\n")) == std::string::npos) {
        if (!ReadSome(fd, &buffer)) return;
      }
      ReceivedRequest request;
      std::vector<std::string> lines = Split(buffer.substr(0, header_end), '\n');
      std::vector<std::string> request_line = Split(lines[0], ' ');
      request.method = request_line[0];
      request.target = request_line.size() > 1 ? request_line[1] : "";
      for (size_t i = 1; i < lines.size(); ++i) {
        std::string line = lines[i];
        if (!line.empty() && line.back() == '\r') line.pop_back();
        size_t colon = line.find(':');
        if (colon == std::string::npos) continue;
        size_t value_start = line.find_first_not_of(' ', colon + 1);
        request.headers[ToLower(line.substr(0, colon))] =
            value_start == std::string::npos ? "" : line.substr(value_start);
      }
      size_t content_length = 0;
      if (request.headers.count("content-length")) content_length = std::stoul(request.headers["content-length"]);
      while (buffer.size() < header_end + 4 + content_length) {
        if (!ReadSome(fd, &buffer)) return;
      }
      request.body = buffer.substr(header_end + 4, content_length);
      buffer.erase(0, header_end + 4 + content_length);

      ScriptedResponse response;
      {
        std::lock_guard<std::mutex> lock(mutex_);
        requests_.push_back(request);
        if (!script_.empty()) {
          response = std::move(script_.front());
          script_.pop_front();
        } else {
          response.body = "default";
        }
      }
      for (int slept = 0; slept < response.delay_ms && Running(); slept += 10) {
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
      }
      std::string head = "HTTP/1.1 " + std::to_string(response.status) + " Scripted\r\n";
      head += "Content-Length: " + std::to_string(response.body.size()) + "\r\n";
      for (const auto& [name, value] : response.headers) head += name + ": " + value + "\r\n";
      head += "\r\n";
      if (response.close_mid_body) {
        SendAll(fd, head + response.body.substr(0, response.body.size() / 2));
        return;
      }
      if (!SendAll(fd, head + response.body)) return;
    }
  }

  const std::chrono::steady_clock::time_point deadline_;
  int listen_fd_ = -1;
  int port_ = 0;
  std::atomic<bool> stop_{false};
  std::atomic<int> connections_accepted_{0};
  std::thread accept_thread_;
  std::vector<std::thread> connection_threads_;  // Touched by the accept thread only, until it is joined.
  mutable std::mutex mutex_;
  std::deque<ScriptedResponse> script_;    // Guarded by mutex_.
  std::vector<ReceivedRequest> requests_;  // Guarded by mutex_.
};

// A port that refuses connections: bound, then closed, so nothing listens on it.
int ClosedPort() {
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t length = sizeof(address);
  ::bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof(address));
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&address), &length);
  ::close(fd);
  return ntohs(address.sin_port);
}

// ---------------------------------------------------------------------------------

class HttpClientTest : public ::testing::Test {
 protected:
  void SetUp() override {
    // A proxy from the environment must not swallow loopback requests.
    ::setenv("no_proxy", "*", 1);
  }

  static SourcePolicy Policy() {
    SourcePolicy policy;
    policy.name = "test";
    policy.max_concurrency = 4;
    policy.max_retries = 3;
    policy.backoff_initial_ms = 100;
    policy.backoff_max_ms = 1000;
    return policy;
  }

  std::unique_ptr<CurlHttpClient> NewClient(SourcePolicy policy, Sleeper* sleeper,
                                            int64_t response_bytes_max = limits::kHttpResponseBytesMax) {
    CurlHttpClientOptions options;
    options.clock = &clock_;
    options.sleeper = sleeper;
    options.metrics = &metrics_;
    options.log = [this](std::string_view line) {
      std::lock_guard<std::mutex> lock(logs_mutex_);
      logs_.emplace_back(line);
    };
    // The ceiling itself: backoff waits become predictable (100, 200, 400 ms, ...).
    options.jitter_ms = [](int64_t ceiling_ms) { return ceiling_ms; };
    options.response_bytes_max = response_bytes_max;
    Result<std::unique_ptr<CurlHttpClient>> client = CurlHttpClient::Create(std::move(policy), std::move(options));
    EXPECT_TRUE(client.ok()) << client.status().ToString();
    return client.ok() ? std::move(client).value() : nullptr;
  }

  HttpRequest Get(const std::string& target, int64_t timeout_ms = 5000) const {
    HttpRequest request;
    request.url = server_.Url(target);
    request.timeout_ms = timeout_ms;
    return request;
  }

  double Requests(const std::string& outcome) {
    return (*metrics_.AddCounter("finlake_http_requests_total", "", {"source", "outcome"}))
        ->WithLabels({"test", outcome})
        .Value();
  }
  double Retries() {
    return (*metrics_.AddCounter("finlake_http_retries_total", "", {"source"}))->WithLabels({"test"}).Value();
  }

  std::vector<std::string> logs() {
    std::lock_guard<std::mutex> lock(logs_mutex_);
    return logs_;
  }

  TestHttpServer server_;
  FakeClock clock_;
  RecordingSleeper sleeper_{&clock_};
  MetricsRegistry metrics_;
  std::mutex logs_mutex_;
  std::vector<std::string> logs_;  // Guarded by logs_mutex_.
};

TEST_F(HttpClientTest, GetReturnsStatusBodyAndHeaders) {
  server_.Script({{200, {{"X-Vendor-Note", "fresh"}, {"Set-Cookie", "a=1"}, {"set-cookie", "b=2"}}, "hello"}});
  auto client = NewClient(Policy(), &sleeper_);
  HttpRequest request = Get("/v8/finance/chart/AAPL?range=1d");
  request.headers.Add("X-Request-Id", "42");
  Result<HttpResponse> response = client->Send(request);
  ASSERT_TRUE(response.ok()) << response.status().ToString();
  EXPECT_EQ(response->status, 200);
  EXPECT_EQ(response->outcome, HttpOutcome::kOk);
  EXPECT_EQ(response->body, "hello");
  EXPECT_EQ(response->attempts, 1);
  EXPECT_EQ(response->headers.Get("x-vendor-note"), "fresh");
  EXPECT_EQ(response->headers.Get("X-VENDOR-NOTE"), "fresh");
  EXPECT_EQ(response->headers.GetAll("Set-Cookie").size(), 2u);
  EXPECT_FALSE(response->headers.Get("X-Absent").has_value());

  std::vector<ReceivedRequest> received = server_.requests();
  ASSERT_EQ(received.size(), 1u);
  EXPECT_EQ(received[0].method, "GET");
  EXPECT_EQ(received[0].target, "/v8/finance/chart/AAPL?range=1d");
  EXPECT_EQ(received[0].headers["x-request-id"], "42");
  EXPECT_EQ(received[0].headers["user-agent"], "finlake");
  EXPECT_NE(received[0].headers["accept-encoding"].find("gzip"), std::string::npos);
  EXPECT_EQ(Requests("ok"), 1);
  EXPECT_TRUE(sleeper_.waits_ms().empty());
}

TEST_F(HttpClientTest, PostSendsTheBody) {
  server_.Script({{201, {}, "created"}});
  auto client = NewClient(Policy(), &sleeper_);
  HttpRequest request = Get("/ingest");
  request.method = "POST";
  request.body = R"({"symbol":"AAPL"})";
  request.headers.Add("Content-Type", "application/json");
  Result<HttpResponse> response = client->Send(request);
  ASSERT_TRUE(response.ok()) << response.status().ToString();
  EXPECT_EQ(response->status, 201);
  std::vector<ReceivedRequest> received = server_.requests();
  ASSERT_EQ(received.size(), 1u);
  EXPECT_EQ(received[0].method, "POST");
  EXPECT_EQ(received[0].body, R"({"symbol":"AAPL"})");
  EXPECT_EQ(received[0].headers["content-type"], "application/json");
  EXPECT_EQ(received[0].headers.count("expect"), 0u);
}

TEST_F(HttpClientTest, SequentialRequestsReuseOneConnection) {
  auto client = NewClient(Policy(), &sleeper_);
  for (int i = 0; i < 4; ++i) {
    Result<HttpResponse> response = client->Send(Get("/r" + std::to_string(i)));
    ASSERT_TRUE(response.ok()) << response.status().ToString();
    EXPECT_EQ(response->body, "default");
  }
  EXPECT_EQ(server_.requests().size(), 4u);
  EXPECT_EQ(server_.connections_accepted(), 1);
}

TEST_F(HttpClientTest, CookiesAreKeptBetweenRequests) {
  // Yahoo's crumb handshake: the first answer sets a cookie the next request must carry.
  server_.Script({{200, {{"Set-Cookie", "A3=d=AQAB; Path=/; HttpOnly"}, {"Set-Cookie", "B=xyz; Path=/"}}, "ok"},
                  {200, {}, "crumb-value"},
                  {200, {{"Set-Cookie", "B=; Path=/; Expires=Thu, 01 Jan 1970 00:00:00 GMT"}}, "ok"},
                  {200, {}, "ok"}});
  auto client = NewClient(Policy(), &sleeper_);
  for (int i = 0; i < 4; ++i) ASSERT_TRUE(client->Send(Get("/step" + std::to_string(i))).ok());
  std::vector<ReceivedRequest> received = server_.requests();
  ASSERT_EQ(received.size(), 4u);
  EXPECT_EQ(received[0].headers.count("cookie"), 0u);
  EXPECT_NE(received[1].headers["cookie"].find("A3=d=AQAB"), std::string::npos) << received[1].headers["cookie"];
  EXPECT_NE(received[1].headers["cookie"].find("B=xyz"), std::string::npos);
  // The server expired B: it is gone from the jar, A3 stays.
  EXPECT_NE(received[3].headers["cookie"].find("A3=d=AQAB"), std::string::npos);
  EXPECT_EQ(received[3].headers["cookie"].find("B="), std::string::npos) << received[3].headers["cookie"];
}

TEST_F(HttpClientTest, GzipBodyIsDecoded) {
  const std::string gzipped(
      "\x1f\x8b\x08\x00\x00\x00\x00\x00\x02\x03\xcb\x48\xcd\xc9\xc9\xd7\x51\x48\xaf\xca\x2c\x00\x00\x4a\x9b\xb1\x5c"
      "\x0b\x00\x00\x00",
      31);
  server_.Script({{200, {{"Content-Encoding", "gzip"}}, gzipped}});
  auto client = NewClient(Policy(), &sleeper_);
  Result<HttpResponse> response = client->Send(Get("/gz"));
  ASSERT_TRUE(response.ok()) << response.status().ToString();
  EXPECT_EQ(response->body, "hello, gzip");
}

TEST_F(HttpClientTest, RedirectsAreFollowed) {
  server_.Script({{302, {{"Location", "/final"}, {"X-Hop", "1"}}, ""}, {200, {{"X-Final", "yes"}}, "there"}});
  auto client = NewClient(Policy(), &sleeper_);
  Result<HttpResponse> response = client->Send(Get("/start"));
  ASSERT_TRUE(response.ok()) << response.status().ToString();
  EXPECT_EQ(response->status, 200);
  EXPECT_EQ(response->body, "there");
  EXPECT_EQ(response->headers.Get("X-Final"), "yes");
  EXPECT_FALSE(response->headers.Get("X-Hop").has_value());  // Only the final response's headers.
  std::vector<ReceivedRequest> received = server_.requests();
  ASSERT_EQ(received.size(), 2u);
  EXPECT_EQ(received[1].target, "/final");
}

TEST_F(HttpClientTest, ServerErrorIsRetriedThenSucceeds) {
  server_.Script({{500, {}, "oops"}, {200, {}, "fine"}});
  auto client = NewClient(Policy(), &sleeper_);
  Result<HttpResponse> response = client->Send(Get("/flaky"));
  ASSERT_TRUE(response.ok()) << response.status().ToString();
  EXPECT_EQ(response->status, 200);
  EXPECT_EQ(response->body, "fine");
  EXPECT_EQ(response->attempts, 2);
  EXPECT_EQ(sleeper_.waits_ms(), std::vector<int64_t>{100});  // backoff_initial_ms.
  EXPECT_EQ(Requests("server_error"), 1);
  EXPECT_EQ(Requests("ok"), 1);
  EXPECT_EQ(Retries(), 1);
}

TEST_F(HttpClientTest, BackoffGrowsExponentiallyUpToItsCeiling) {
  server_.Script({{503, {}, ""}, {502, {}, ""}, {504, {}, ""}, {500, {}, ""}, {503, {}, ""}});
  SourcePolicy policy = Policy();
  policy.max_retries = 4;
  policy.backoff_max_ms = 300;
  auto client = NewClient(policy, &sleeper_);
  Result<HttpResponse> response = client->Send(Get("/down"));
  ASSERT_TRUE(response.ok()) << response.status().ToString();
  // After the last retry the 5xx comes back as a response, not an error.
  EXPECT_EQ(response->status, 503);
  EXPECT_EQ(response->outcome, HttpOutcome::kServerError);
  EXPECT_EQ(response->attempts, 5);
  EXPECT_EQ(sleeper_.waits_ms(), (std::vector<int64_t>{100, 200, 300, 300}));
  EXPECT_EQ(Requests("server_error"), 5);
  EXPECT_EQ(Retries(), 4);
}

TEST_F(HttpClientTest, RetryAfterOnServiceUnavailableReplacesBackoff) {
  server_.Script({{503, {{"Retry-After", "2"}}, ""}, {200, {}, "back"}});
  auto client = NewClient(Policy(), &sleeper_);
  Result<HttpResponse> response = client->Send(Get("/maintenance"));
  ASSERT_TRUE(response.ok()) << response.status().ToString();
  EXPECT_EQ(response->status, 200);
  EXPECT_EQ(sleeper_.waits_ms(), std::vector<int64_t>{2000});
}

TEST_F(HttpClientTest, TooManyRequestsPausesTheWholeSource) {
  server_.Script({{429, {{"Retry-After", "1"}}, "slow down"}, {200, {}, "a"}, {200, {}, "b"}});
  GatedSleeper sleeper(&clock_);
  auto client = NewClient(Policy(), &sleeper);
  Result<HttpResponse> first = Status::Internal("not run");
  Result<HttpResponse> second = Status::Internal("not run");
  std::thread a([&] { first = client->Send(Get("/a")); });
  // A got the 429 and waits out the pause it set.
  EXPECT_TRUE(sleeper.AwaitWaits(1));
  std::thread b([&] { second = client->Send(Get("/b")); });
  // B waits for the same pause without sending anything.
  EXPECT_TRUE(sleeper.AwaitWaits(2));
  EXPECT_EQ(server_.requests().size(), 1u);
  sleeper.Advance(1000);
  a.join();
  b.join();

  ASSERT_TRUE(first.ok()) << first.status().ToString();
  ASSERT_TRUE(second.ok()) << second.status().ToString();
  EXPECT_EQ(first->status, 200);
  EXPECT_EQ(first->attempts, 2);
  EXPECT_EQ(second->status, 200);
  EXPECT_EQ(second->attempts, 1);
  EXPECT_EQ(sleeper.waits_ms(), (std::vector<int64_t>{1000, 1000}));
  EXPECT_EQ(server_.requests().size(), 3u);
  EXPECT_EQ(Requests("rate_limited"), 1);
  EXPECT_EQ(Requests("ok"), 2);
  EXPECT_EQ(Retries(), 1);
}

TEST_F(HttpClientTest, TooManyRequestsWithoutRetryAfterPausesForTheBackoff) {
  server_.Script({{429, {}, ""}, {429, {}, ""}, {200, {}, "ok"}});
  auto client = NewClient(Policy(), &sleeper_);
  Result<HttpResponse> response = client->Send(Get("/x"));
  ASSERT_TRUE(response.ok()) << response.status().ToString();
  EXPECT_EQ(response->status, 200);
  EXPECT_EQ(response->attempts, 3);
  EXPECT_EQ(sleeper_.waits_ms(), (std::vector<int64_t>{100, 200}));
  EXPECT_EQ(Requests("rate_limited"), 2);
}

TEST_F(HttpClientTest, RetryAfterIsCappedByItsLimit) {
  server_.Script({{429, {{"Retry-After", "86400"}}, ""}, {200, {}, "ok"}});
  auto client = NewClient(Policy(), &sleeper_);
  Result<HttpResponse> response = client->Send(Get("/x"));
  ASSERT_TRUE(response.ok()) << response.status().ToString();
  EXPECT_EQ(sleeper_.waits_ms(), std::vector<int64_t>{limits::kHttpRetryAfterMaxMs});
}

TEST_F(HttpClientTest, NotFoundIsNotRetried) {
  server_.Script({{404, {}, "no such symbol"}});
  auto client = NewClient(Policy(), &sleeper_);
  Result<HttpResponse> response = client->Send(Get("/missing"));
  ASSERT_TRUE(response.ok()) << response.status().ToString();
  EXPECT_EQ(response->status, 404);
  EXPECT_EQ(response->outcome, HttpOutcome::kClientError);
  EXPECT_EQ(response->body, "no such symbol");
  EXPECT_EQ(response->attempts, 1);
  EXPECT_EQ(server_.requests().size(), 1u);
  EXPECT_TRUE(sleeper_.waits_ms().empty());
  EXPECT_EQ(Requests("client_error"), 1);
  EXPECT_EQ(Retries(), 0);
}

TEST_F(HttpClientTest, TimeoutIsANetworkErrorAfterRetries) {
  server_.Script({{200, {}, "late", 600}, {200, {}, "late", 600}});
  SourcePolicy policy = Policy();
  policy.max_retries = 1;
  auto client = NewClient(policy, &sleeper_);
  const auto started = std::chrono::steady_clock::now();
  Result<HttpResponse> response = client->Send(Get("/slow?apikey=SECRET", 150));
  const auto elapsed = std::chrono::steady_clock::now() - started;
  ASSERT_FALSE(response.ok());
  EXPECT_EQ(response.status().code(), StatusCode::kIOError);
  const std::string& message = response.status().message();
  EXPECT_NE(message.find("test: GET http://127.0.0.1:"), std::string::npos) << message;
  EXPECT_NE(message.find("/slow?apikey=***"), std::string::npos) << message;
  EXPECT_NE(message.find("timed out after 150 ms"), std::string::npos) << message;
  EXPECT_NE(message.find("gave up after 2 attempts"), std::string::npos) << message;
  EXPECT_EQ(message.find("SECRET"), std::string::npos) << message;
  EXPECT_LT(elapsed, std::chrono::milliseconds(1200));
  EXPECT_EQ(Requests("network_error"), 2);
  EXPECT_EQ(Retries(), 1);
}

TEST_F(HttpClientTest, TruncatedBodyIsANetworkError) {
  ScriptedResponse truncated{200, {}, std::string(100, 'x'), 0, true};
  server_.Script({truncated, truncated});
  SourcePolicy policy = Policy();
  policy.max_retries = 1;
  auto client = NewClient(policy, &sleeper_);
  Result<HttpResponse> response = client->Send(Get("/cut"));
  ASSERT_FALSE(response.ok());
  EXPECT_EQ(response.status().code(), StatusCode::kIOError);
  EXPECT_NE(response.status().message().find("connection closed before the body was complete"), std::string::npos)
      << response.status().message();
  EXPECT_EQ(server_.requests().size(), 2u);
  EXPECT_EQ(Requests("network_error"), 2);
}

TEST_F(HttpClientTest, TruncatedBodyThenSuccessRecovers) {
  server_.Script({{200, {}, std::string(100, 'x'), 0, true}, {200, {}, "whole"}});
  auto client = NewClient(Policy(), &sleeper_);
  Result<HttpResponse> response = client->Send(Get("/cut"));
  ASSERT_TRUE(response.ok()) << response.status().ToString();
  EXPECT_EQ(response->body, "whole");
  EXPECT_EQ(response->attempts, 2);
}

TEST_F(HttpClientTest, ConnectionRefusedIsRetriedAndNamed) {
  SourcePolicy policy = Policy();
  policy.max_retries = 2;
  auto client = NewClient(policy, &sleeper_);
  HttpRequest request;
  request.url = "http://127.0.0.1:" + std::to_string(ClosedPort()) + "/x";
  Result<HttpResponse> response = client->Send(request);
  ASSERT_FALSE(response.ok());
  EXPECT_NE(response.status().message().find("could not connect"), std::string::npos) << response.status().message();
  EXPECT_NE(response.status().message().find("gave up after 3 attempts"), std::string::npos);
  EXPECT_EQ(sleeper_.waits_ms(), (std::vector<int64_t>{100, 200}));
}

TEST_F(HttpClientTest, OversizedBodyIsRefusedWithoutRetry) {
  server_.Script({{200, {}, std::string(100, 'x')}});
  auto client = NewClient(Policy(), &sleeper_, /*response_bytes_max=*/10);
  Result<HttpResponse> response = client->Send(Get("/big"));
  ASSERT_FALSE(response.ok());
  EXPECT_NE(response.status().message().find("larger than 10 bytes"), std::string::npos)
      << response.status().message();
  EXPECT_EQ(server_.requests().size(), 1u);
  EXPECT_TRUE(sleeper_.waits_ms().empty());
}

TEST_F(HttpClientTest, PerMinuteLimitDelaysTheRequestBeyondIt) {
  SourcePolicy policy = Policy();
  policy.requests_per_minute = 3;
  auto client = NewClient(policy, &sleeper_);
  for (int i = 0; i < 4; ++i) ASSERT_TRUE(client->Send(Get("/m")).ok());
  EXPECT_EQ(server_.requests().size(), 4u);
  // The fake clock stood still during the first three, so the fourth waits a minute.
  EXPECT_EQ(sleeper_.waits_ms(), std::vector<int64_t>{60'000});
}

TEST_F(HttpClientTest, DailyQuotaRefusesWithoutSending) {
  SourcePolicy policy = Policy();
  policy.requests_per_day = 2;
  auto client = NewClient(policy, &sleeper_);
  for (int i = 0; i < 2; ++i) {
    Result<HttpResponse> response = client->Send(Get("/q"));
    ASSERT_TRUE(response.ok());
    EXPECT_EQ(response->outcome, HttpOutcome::kOk);
  }
  Result<HttpResponse> refused = client->Send(Get("/q"));
  ASSERT_TRUE(refused.ok()) << refused.status().ToString();
  EXPECT_EQ(refused->outcome, HttpOutcome::kQuotaExhausted);
  EXPECT_EQ(refused->status, 0);
  EXPECT_EQ(refused->attempts, 0);
  EXPECT_GT(refused->quota_available_at_ms, clock_.NowMillis());
  EXPECT_EQ(server_.requests().size(), 2u);
  EXPECT_TRUE(sleeper_.waits_ms().empty());
  EXPECT_EQ(Requests("quota_exhausted"), 1);
}

TEST_F(HttpClientTest, QuotaRunningOutDuringRetriesStopsThem) {
  server_.Script({{503, {}, ""}, {503, {}, ""}});
  SourcePolicy policy = Policy();
  policy.requests_per_day = 2;
  auto client = NewClient(policy, &sleeper_);
  Result<HttpResponse> response = client->Send(Get("/q"));
  ASSERT_TRUE(response.ok()) << response.status().ToString();
  EXPECT_EQ(response->outcome, HttpOutcome::kQuotaExhausted);
  EXPECT_EQ(response->attempts, 2);
  EXPECT_EQ(server_.requests().size(), 2u);
}

TEST_F(HttpClientTest, ReportedQuotaRefusesUntilItEnds) {
  auto client = NewClient(Policy(), &sleeper_);
  client->ReportQuotaExhausted(clock_.NowMillis() + 60'000);
  Result<HttpResponse> refused = client->Send(Get("/r"));
  ASSERT_TRUE(refused.ok());
  EXPECT_EQ(refused->outcome, HttpOutcome::kQuotaExhausted);
  EXPECT_EQ(server_.requests().size(), 0u);
  clock_.Advance(60'000);
  Result<HttpResponse> sent = client->Send(Get("/r"));
  ASSERT_TRUE(sent.ok());
  EXPECT_EQ(sent->outcome, HttpOutcome::kOk);
}

TEST_F(HttpClientTest, ConcurrencyLimitHoldsRequestsInFlight) {
  server_.Script({{200, {}, "1", 100}, {200, {}, "2", 100}, {200, {}, "3", 100}});
  SourcePolicy policy = Policy();
  policy.max_concurrency = 1;
  auto client = NewClient(policy, &sleeper_);
  std::vector<std::thread> threads;
  std::atomic<int> succeeded{0};
  for (int i = 0; i < 3; ++i) {
    threads.emplace_back([&] {
      Result<HttpResponse> response = client->Send(Get("/c"));
      if (response.ok() && response->status == 200) ++succeeded;
    });
  }
  for (auto& thread : threads) thread.join();
  EXPECT_EQ(succeeded.load(), 3);
  // One request at a time means one pooled handle, hence one connection.
  EXPECT_EQ(server_.connections_accepted(), 1);
}

TEST_F(HttpClientTest, SecretsNeverReachMessagesOrLogs) {
  server_.Script({{500, {}, ""}, {404, {}, ""}});
  auto client = NewClient(Policy(), &sleeper_);
  HttpRequest request = Get("/query?function=TIME_SERIES_DAILY&symbol=IBM&apikey=SECRET&crumb=abc");
  request.headers.Add("Authorization", "Bearer SECRET-TOKEN");
  request.headers.Add("Cookie", "session=SECRET-COOKIE");
  Result<HttpResponse> not_found = client->Send(request);
  ASSERT_TRUE(not_found.ok());
  EXPECT_EQ(not_found->status, 404);

  request.url = "http://127.0.0.1:" + std::to_string(ClosedPort()) + "/q?apikey=SECRET&crumb=abc";
  Result<HttpResponse> refused = client->Send(request);
  ASSERT_FALSE(refused.ok());
  std::vector<std::string> texts = logs();
  texts.push_back(refused.status().ToString());
  ASSERT_GE(texts.size(), 4u);
  for (const std::string& text : texts) {
    EXPECT_EQ(text.find("SECRET"), std::string::npos) << text;
    EXPECT_EQ(text.find("crumb=abc"), std::string::npos) << text;
    EXPECT_NE(text.find("apikey=***"), std::string::npos) << text;
  }
  EXPECT_EQ(metrics_.RenderPrometheus().find("SECRET"), std::string::npos);
}

TEST_F(HttpClientTest, InvalidRequestsAreRefusedBeforeSending) {
  auto client = NewClient(Policy(), &sleeper_);
  HttpRequest bad_method = Get("/x");
  bad_method.method = "CONNECT";
  HttpRequest bad_scheme = Get("/x");
  bad_scheme.url = "file:///etc/passwd";
  HttpRequest bad_timeout = Get("/x", 0);
  HttpRequest injected = Get("/x");
  injected.headers.Add("X-Api-Key", "SECRET\r\nHost: evil");
  HttpRequest spaced = Get("/x y");
  for (const HttpRequest& request : {bad_method, bad_scheme, bad_timeout, injected, spaced}) {
    Result<HttpResponse> response = client->Send(request);
    ASSERT_FALSE(response.ok()) << request.url;
    EXPECT_EQ(response.status().code(), StatusCode::kInvalidArgument);
    EXPECT_EQ(response.status().message().find("SECRET"), std::string::npos);
  }
  EXPECT_EQ(server_.requests().size(), 0u);
}

TEST_F(HttpClientTest, PoliciesOutsideTheLimitsAreRefused) {
  auto refused = [&](SourcePolicy policy) {
    CurlHttpClientOptions options;
    options.metrics = &metrics_;
    return !CurlHttpClient::Create(std::move(policy), options).ok();
  };
  SourcePolicy policy = Policy();
  policy.name = "Yahoo Finance";
  EXPECT_TRUE(refused(policy));
  policy = Policy();
  policy.max_concurrency = 0;
  EXPECT_TRUE(refused(policy));
  policy = Policy();
  policy.max_retries = limits::kHttpRetriesMax + 1;
  EXPECT_TRUE(refused(policy));
  policy = Policy();
  policy.backoff_max_ms = policy.backoff_initial_ms - 1;
  EXPECT_TRUE(refused(policy));
  policy = Policy();
  policy.requests_per_day = -1;
  EXPECT_TRUE(refused(policy));
  EXPECT_FALSE(refused(Policy()));
}

TEST_F(HttpClientTest, MetricsRenderTheOutcomes) {
  server_.Script({{500, {}, ""}, {200, {}, "ok"}});
  auto client = NewClient(Policy(), &sleeper_);
  ASSERT_TRUE(client->Send(Get("/m")).ok());
  std::string text = metrics_.RenderPrometheus();
  EXPECT_NE(text.find("# TYPE finlake_http_requests_total counter\n"), std::string::npos) << text;
  EXPECT_NE(text.find("finlake_http_requests_total{source=\"test\",outcome=\"ok\"} 1\n"), std::string::npos);
  EXPECT_NE(text.find("finlake_http_requests_total{source=\"test\",outcome=\"server_error\"} 1\n"),
            std::string::npos);
  EXPECT_NE(text.find("finlake_http_requests_total{source=\"test\",outcome=\"quota_exhausted\"} 0\n"),
            std::string::npos);
  EXPECT_NE(text.find("finlake_http_retries_total{source=\"test\"} 1\n"), std::string::npos);
  EXPECT_NE(text.find("# TYPE finlake_http_request_seconds histogram\n"), std::string::npos);
  EXPECT_NE(text.find("finlake_http_request_seconds_bucket{source=\"test\",le=\"+Inf\"} 2\n"), std::string::npos);
  EXPECT_NE(text.find("finlake_http_request_seconds_count{source=\"test\"} 2\n"), std::string::npos);
}

// ---------------------------------------------------------------------------------

TEST(HttpRedact, HidesSecretQueryParameters) {
  EXPECT_EQ(RedactUrl("https://www.alphavantage.co/query?function=TIME_SERIES_DAILY&symbol=IBM&apikey=SECRET"),
            "https://www.alphavantage.co/query?function=TIME_SERIES_DAILY&symbol=IBM&apikey=***");
  EXPECT_EQ(RedactUrl("https://query2.finance.yahoo.com/v7/finance/quote?symbols=AAPL&crumb=abc"),
            "https://query2.finance.yahoo.com/v7/finance/quote?symbols=AAPL&crumb=***");
  EXPECT_EQ(RedactUrl("https://h/p?API_KEY=a&Token=b&access_token=c&client_secret=d&password=e&key=f&x=1"),
            "https://h/p?API_KEY=***&Token=***&access_token=***&client_secret=***&password=***&key=***&x=1");
  EXPECT_EQ(RedactUrl("https://h/p?api%5Fkey=SECRET"), "https://h/p?api%5Fkey=***");
  EXPECT_EQ(RedactUrl("https://user:SECRET@h/p?a=1"), "https://user:***@h/p?a=1");
  EXPECT_EQ(RedactUrl("https://h/cb#access_token=SECRET&state=1"), "https://h/cb#access_token=***&state=1");
  EXPECT_EQ(RedactUrl("https://h/p?apikey=&flag&a=b"), "https://h/p?apikey=***&flag&a=b");
  EXPECT_EQ(RedactUrl("https://h/plain/path"), "https://h/plain/path");
  EXPECT_EQ(RedactUrl(""), "");
}

TEST(HttpRetryAfter, ParsesSecondsAndHttpDates) {
  // Sun, 06 Nov 1994 08:49:37 GMT is 784111777 s after the epoch (RFC 9110's example).
  const int64_t date_ms = int64_t{784111777} * 1000;
  EXPECT_EQ(ParseRetryAfterMs("1", 0), 1000);
  EXPECT_EQ(ParseRetryAfterMs(" 120 ", 0), 120'000);
  EXPECT_EQ(ParseRetryAfterMs("Sun, 06 Nov 1994 08:49:37 GMT", date_ms - 5000), 5000);
  EXPECT_EQ(ParseRetryAfterMs("Sunday, 06-Nov-94 08:49:37 GMT", date_ms - 2000), 2000);
  EXPECT_EQ(ParseRetryAfterMs("Sun Nov  6 08:49:37 1994", date_ms - 1000), 1000);
  EXPECT_EQ(ParseRetryAfterMs("Sun, 06 Nov 1994 08:49:37 GMT", date_ms + 9000), 0);
  EXPECT_EQ(ParseRetryAfterMs("99999999999999999999", 0), int64_t{999999999} * 1000);
  EXPECT_FALSE(ParseRetryAfterMs("soon", 0).has_value());
  EXPECT_FALSE(ParseRetryAfterMs("", 0).has_value());
  EXPECT_FALSE(ParseRetryAfterMs("-5", 0).has_value());
}

TEST(HttpHeaders, LookupIgnoresCase) {
  HttpHeaders headers;
  headers.Add("Content-Type", "text/csv");
  headers.Add("set-cookie", "a=1");
  headers.Add("Set-Cookie", "b=2");
  EXPECT_EQ(headers.Get("content-type"), "text/csv");
  EXPECT_EQ(headers.Get("SET-COOKIE"), "a=1");
  EXPECT_EQ(headers.GetAll("Set-Cookie"), (std::vector<std::string_view>{"a=1", "b=2"}));
  EXPECT_EQ(HttpOutcomeName(HttpOutcome::kQuotaExhausted), std::string("quota_exhausted"));
}

}  // namespace
}  // namespace finlake
