// The client's view of its peers from Watch messages, without a server.
#include "discovery/client/watch_view.h"

#include <gtest/gtest.h>

#include "discovery/crypto/affiliate_codec.h"

namespace discovery::client {
namespace {

namespace spb = ::sidero::discovery::server;

const std::string kKey(32, 'k');

class WatchViewTest : public ::testing::Test {
 protected:
  // A record as a peer publishes it: sealed data and encrypted endpoints.
  void add(spb::WatchResponse& msg, const std::string& id, const std::string& hostname,
           const std::vector<std::string>& ips) {
    add(msg, id, hostname, ips, cipher_);
  }

  static void add(spb::WatchResponse& msg, const std::string& id, const std::string& hostname,
                  const std::vector<std::string>& ips, const crypto::Cipher& cipher) {
    auto* a = msg.add_affiliates();
    a->set_id(id);
    pb::Affiliate data;
    data.set_hostname(hostname);
    a->set_data(crypto::seal_affiliate(cipher, data));
    for (const auto& ip : ips) {
      pb::Endpoint e;
      e.set_ip(ip);
      e.set_port(51820);
      a->add_endpoints(crypto::encrypt_endpoint(cipher, e));
    }
  }

  const crypto::Cipher cipher_{kKey};
};

TEST_F(WatchViewTest, SnapshotReplacesChangesMergeDeletionsRemove) {
  spb::WatchResponse snapshot;
  add(snapshot, "a", "node-a", {"\x0a\x00\x00\x01"});
  add(snapshot, "self", "me", {});
  auto view = apply_watch_message({}, snapshot, true, cipher_, "self");
  ASSERT_EQ(view->size(), 1u);
  EXPECT_EQ(view->at("a")->data.hostname(), "node-a");
  ASSERT_EQ(view->at("a")->endpoints.size(), 1u);
  EXPECT_EQ(view->at("a")->endpoints[0].port(), 51820u);

  spb::WatchResponse change;
  add(change, "b", "node-b", {});
  view = apply_watch_message(*view, change, false, cipher_, "self");
  EXPECT_EQ(view->size(), 2u);

  spb::WatchResponse deletion;
  deletion.set_deleted(true);
  deletion.add_affiliates()->set_id("a");
  view = apply_watch_message(*view, deletion, false, cipher_, "self");
  ASSERT_EQ(view->size(), 1u);
  EXPECT_EQ(view->count("b"), 1u);

  // A new snapshot (a reconnect) forgets everything before it.
  view = apply_watch_message(*view, spb::WatchResponse(), true, cipher_, "self");
  EXPECT_TRUE(view->empty());
}

TEST_F(WatchViewTest, UndecryptableRecordsAndEndpointsAreSkipped) {
  spb::WatchResponse msg;
  add(msg, "good", "node", {"\x0a\x00\x00\x01"});
  msg.mutable_affiliates(0)->add_endpoints("not an endpoint block");
  auto* garbage = msg.add_affiliates();
  garbage->set_id("garbage");
  garbage->set_data("too short");
  msg.add_affiliates()->set_id("endpoint-only");
  // Another cluster's key: authentication fails.
  add(msg, "foreign", "elsewhere", {}, crypto::Cipher(std::string(32, 'x')));

  auto view = apply_watch_message({}, msg, true, cipher_, "self");
  ASSERT_EQ(view->size(), 1u);
  EXPECT_EQ(view->at("good")->endpoints.size(), 1u);
}

}  // namespace
}  // namespace discovery::client
