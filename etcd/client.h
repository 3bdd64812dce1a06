// A small etcd v3 client: KV (range, put, delete, txn, compact), leases (grant, keep-alive,
// revoke) and watches, over etcd's gRPC API. This header has no gRPC or protobuf includes: callers
// see value types and the Client interface; the implementation lives in client.cpp.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

namespace etcd {

struct TlsOptions {
  std::string ca_file;    // PEM roots that sign the server certificates; empty: system roots
  std::string cert_file;  // client certificate (PEM); empty with key_file: no client certificate
  std::string key_file;
};

struct Options {
  std::vector<std::string> endpoints;  // host:port; calls go to one, failing over in order
  std::chrono::milliseconds dial_timeout{2000};     // per endpoint, to get a connection
  std::chrono::milliseconds request_timeout{5000};  // a whole unary call, dialing included
  std::optional<TlsOptions> tls;                    // absent: plaintext
};

// Parses "host:port,host:port" (spaces around entries ignored) into Options::endpoints' form.
std::vector<std::string> parse_endpoints(std::string_view list);

// The range_end that makes [prefix, range_end) cover every key starting with `prefix`: the prefix
// with its last byte below 0xff incremented and the rest cut; "\0" (all keys) when there is none.
std::string prefix_end(std::string_view prefix);

struct KeyValue {
  std::string key;
  std::string value;
  std::int64_t create_revision = 0;
  std::int64_t mod_revision = 0;
  std::int64_t version = 0;
  std::int64_t lease = 0;

  bool operator==(const KeyValue&) const = default;
};

// Keys in [key, range_end); an empty range_end means the single key.
struct RangeRequest {
  std::string key;
  std::string range_end{};
  std::int64_t revision = 0;  // 0: newest
  std::int64_t limit = 0;     // 0: all

  static RangeRequest prefix(std::string p) {
    RangeRequest r;
    r.range_end = prefix_end(p);
    r.key = std::move(p);
    return r;
  }
};

struct RangeResult {
  std::int64_t revision = 0;  // the store's revision the answer reflects
  std::vector<KeyValue> kvs;
  bool more = false;       // the limit cut the answer short
  std::int64_t count = 0;  // keys in the range, whatever the limit
};

struct PutRequest {
  std::string key;
  std::string value;
  std::int64_t lease = 0;  // 0: none; the key is deleted when the lease expires or is revoked
  bool prev_kv = false;
};

struct PutResult {
  std::int64_t revision = 0;
  std::optional<KeyValue> prev_kv;  // only when asked for and the key existed
};

struct DeleteRequest {
  std::string key;
  std::string range_end{};  // empty: the single key
  bool prev_kv = false;

  static DeleteRequest prefix(std::string p) {
    DeleteRequest r;
    r.range_end = prefix_end(p);
    r.key = std::move(p);
    return r;
  }
};

struct DeleteResult {
  std::int64_t revision = 0;
  std::int64_t deleted = 0;
  std::vector<KeyValue> prev_kvs;
};

// One guard of a transaction: `key`'s target compared with a number or a value. A key that does
// not exist has version, create_revision and mod_revision 0.
struct Compare {
  enum class Target { kVersion, kCreateRevision, kModRevision, kValue };
  enum class Result { kEqual, kGreater, kLess, kNotEqual };

  std::string key;
  Target target = Target::kVersion;
  Result result = Result::kEqual;
  std::int64_t number = 0;  // for every target but kValue
  std::string value{};      // for kValue
  // Non-empty: every key in [key, range_end) must pass; a range without keys compares like a key
  // that does not exist (etcd 3.3 and later).
  std::string range_end{};

  static Compare mod_revision(std::string key, Result r, std::int64_t rev) {
    return {std::move(key), Target::kModRevision, r, rev, {}};
  }
  static Compare create_revision(std::string key, Result r, std::int64_t rev) {
    return {std::move(key), Target::kCreateRevision, r, rev, {}};
  }
  static Compare create_revisions_in(std::string prefix, Result r, std::int64_t rev) {
    Compare c{std::move(prefix), Target::kCreateRevision, r, rev, {}, {}};
    c.range_end = prefix_end(c.key);
    return c;
  }
  static Compare version(std::string key, Result r, std::int64_t v) {
    return {std::move(key), Target::kVersion, r, v, {}};
  }
  static Compare value_is(std::string key, Result r, std::string v) {
    return {std::move(key), Target::kValue, r, 0, std::move(v)};
  }
};

using Op = std::variant<RangeRequest, PutRequest, DeleteRequest>;
using OpResult = std::variant<RangeResult, PutResult, DeleteResult>;

struct TxnRequest {
  std::vector<Compare> compare;  // all true: `success` runs; else `failure`
  std::vector<Op> success;
  std::vector<Op> failure;
};

struct TxnResult {
  std::int64_t revision = 0;
  bool succeeded = false;
  std::vector<OpResult> responses;  // one per op of the branch that ran, in order
};

struct LeaseGrant {
  std::int64_t id = 0;
  std::int64_t ttl = 0;  // seconds, as granted
};

// What went wrong with a call. kUnavailable and kDeadlineExceeded are the transport's (no
// endpoint answered, or not in time): the call may be tried again. kCanceled: the caller stopped
// it. kRejected: etcd answered with an error (compacted revision, unknown lease, bad request...);
// trying again unchanged will fail the same way.
class Error : public std::runtime_error {
 public:
  enum class Kind { kUnavailable, kDeadlineExceeded, kCanceled, kRejected };

  Error(Kind kind, std::string rpc, std::string endpoint, int grpc_code, std::string message);

  Kind kind() const { return kind_; }
  const std::string& rpc() const { return rpc_; }            // e.g. "KV.Put"
  const std::string& endpoint() const { return endpoint_; }  // the endpoint last tried
  int grpc_code() const { return grpc_code_; }               // grpc::StatusCode as int
  bool transient() const { return kind_ == Kind::kUnavailable || kind_ == Kind::kDeadlineExceeded; }

 private:
  Kind kind_;
  std::string rpc_;
  std::string endpoint_;
  int grpc_code_;
};

struct Event {
  enum class Type { kPut, kDelete };
  Type type = Type::kPut;
  KeyValue kv;  // for kDelete: the key and the deletion's mod_revision
  std::optional<KeyValue> prev_kv;
};

// One delivery of a watch, on the watch's own thread. Either events (in revision order), or the
// end of the watch: `compact_revision` set (the revision asked for is compacted away; relist at
// the newest revision and watch again from there) or `canceled` (etcd ended the watch for
// `cancel_reason`). No delivery follows an end. A delivery with neither events nor an end is a
// progress notification: everything up to `revision` was seen.
struct WatchResponse {
  std::int64_t revision = 0;
  std::vector<Event> events;
  std::int64_t compact_revision = 0;
  bool canceled = false;
  std::string cancel_reason;
};

struct WatchRequest {
  std::string key;
  std::string range_end;            // empty: the single key; prefix_end(key): the prefix
  std::int64_t start_revision = 0;  // inclusive; 0: from now
  bool prev_kv = false;
  bool progress_notify = false;

  static WatchRequest prefix(std::string p, std::int64_t from_revision = 0) {
    WatchRequest r;
    r.range_end = prefix_end(p);
    r.key = std::move(p);
    r.start_revision = from_revision;
    return r;
  }
};

// A running background stream (watch or lease keep-alive). Destroying it stops it and waits for
// its thread; stop() does the same (and may be called from the stream's own callback, where it
// only asks the stream to stop). Do not destroy it from inside its own callback.
class Stream {
 public:
  virtual ~Stream() = default;
  virtual void stop() = 0;
};

using WatchCallback = std::function<void(const WatchResponse&)>;
// Called once, on the keep-alive's thread, when the lease is gone (expired or revoked: etcd
// answered TTL 0). Connection failures are retried and not reported.
using LeaseLostCallback = std::function<void(std::int64_t lease)>;

// Thread-safe: calls may come from any thread. Unary calls block up to Options::request_timeout
// and throw Error.
class Client {
 public:
  virtual ~Client() = default;

  virtual RangeResult range(const RangeRequest& request) = 0;
  virtual PutResult put(const PutRequest& request) = 0;
  virtual DeleteResult delete_range(const DeleteRequest& request) = 0;
  virtual TxnResult txn(const TxnRequest& request) = 0;
  // Compacts history up to `revision`; with `physical`, returns once the backend has applied it.
  virtual void compact(std::int64_t revision, bool physical = true) = 0;

  virtual LeaseGrant lease_grant(std::int64_t ttl_seconds) = 0;
  virtual void lease_revoke(std::int64_t lease) = 0;
  // Keeps `lease` alive (renewing at a third of its TTL) until the returned stream is stopped,
  // across reconnects to any endpoint.
  virtual std::unique_ptr<Stream> lease_keep_alive(std::int64_t lease,
                                                   LeaseLostCallback on_lost = {}) = 0;

  // Watches from `request.start_revision`. When the connection fails the watch moves to the next
  // endpoint and resumes after the last revision it delivered, so no event is lost or repeated.
  virtual std::unique_ptr<Stream> watch(const WatchRequest& request, WatchCallback callback) = 0;
};

std::unique_ptr<Client> make_client(Options options);

}  // namespace etcd
