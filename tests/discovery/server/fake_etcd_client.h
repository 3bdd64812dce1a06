// An etcd::Client over a map in memory, for tests of what follows the store: ranges read the map
// (paged like etcd, at its current revision), and watches are driven by the test, which delivers
// the responses it wants (events, compaction, cancellation) through deliver(). Writes are not
// faked: they throw.
#pragma once

#include <condition_variable>
#include <map>
#include <mutex>
#include <string>

#include "etcd/client.h"

namespace discovery::server::test {

class FakeEtcdClient final : public etcd::Client {
 public:
  // Sets the store's contents and revision (what the next range returns).
  void set_store(std::map<std::string, std::string> kvs, std::int64_t revision) {
    std::lock_guard lock(mu_);
    kvs_ = std::move(kvs);
    revision_ = revision;
  }

  // Watches started so far, and the start revision of the last.
  int watches() const {
    std::lock_guard lock(mu_);
    return watches_;
  }
  std::int64_t watch_start() const {
    std::lock_guard lock(mu_);
    return watch_start_;
  }
  int ranges() const {
    std::lock_guard lock(mu_);
    return ranges_;
  }

  // Delivers `response` to the live watch, on the calling thread; false when none is live.
  bool deliver(const etcd::WatchResponse& response) {
    etcd::WatchCallback callback;
    {
      std::lock_guard lock(mu_);
      if (!live_) return false;
      callback = callback_;
    }
    callback(response);
    return true;
  }

  etcd::RangeResult range(const etcd::RangeRequest& request) override {
    std::lock_guard lock(mu_);
    ranges_++;
    etcd::RangeResult result;
    result.revision = revision_;
    for (auto it = kvs_.lower_bound(request.key);
         it != kvs_.end() && (request.range_end.empty() || it->first < request.range_end); ++it) {
      result.count++;
      if (request.limit != 0 && static_cast<std::int64_t>(result.kvs.size()) == request.limit) {
        result.more = true;
        continue;
      }
      result.kvs.push_back({it->first, it->second, 1, revision_, 1, 0});
    }
    return result;
  }

  std::unique_ptr<etcd::Stream> watch(const etcd::WatchRequest& request,
                                      etcd::WatchCallback callback) override {
    std::lock_guard lock(mu_);
    watches_++;
    watch_start_ = request.start_revision;
    callback_ = std::move(callback);
    live_ = true;
    return std::make_unique<Stream>(*this);
  }

  etcd::PutResult put(const etcd::PutRequest&) override { throw unfaked("KV.Put"); }
  etcd::DeleteResult delete_range(const etcd::DeleteRequest&) override {
    throw unfaked("KV.DeleteRange");
  }
  etcd::TxnResult txn(const etcd::TxnRequest&) override { throw unfaked("KV.Txn"); }
  void compact(std::int64_t, bool) override { throw unfaked("KV.Compact"); }
  etcd::LeaseGrant lease_grant(std::int64_t) override { throw unfaked("Lease.LeaseGrant"); }
  void lease_revoke(std::int64_t) override { throw unfaked("Lease.LeaseRevoke"); }
  std::unique_ptr<etcd::Stream> lease_keep_alive(std::int64_t, etcd::LeaseLostCallback) override {
    throw unfaked("Lease.LeaseKeepAlive");
  }

 private:
  class Stream final : public etcd::Stream {
   public:
    explicit Stream(FakeEtcdClient& owner) : owner_(owner) {}
    ~Stream() override { stop(); }
    void stop() override {
      std::lock_guard lock(owner_.mu_);
      owner_.live_ = false;
    }

   private:
    FakeEtcdClient& owner_;
  };

  static etcd::Error unfaked(const std::string& rpc) {
    return etcd::Error(etcd::Error::Kind::kRejected, rpc, "fake", 12, "not faked");
  }

  mutable std::mutex mu_;
  std::map<std::string, std::string> kvs_;
  std::int64_t revision_ = 1;
  int watches_ = 0;
  int ranges_ = 0;
  std::int64_t watch_start_ = 0;
  bool live_ = false;
  etcd::WatchCallback callback_;
};

}  // namespace discovery::server::test
