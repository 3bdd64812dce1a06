// One real etcd for a whole test binary (every test process that includes this header starts one,
// since starting etcd takes about a second). Tests share it, so each uses its own key prefix.
#pragma once

#include <gtest/gtest.h>

#include <memory>

#include "tests/support/etcd_server.h"

namespace tds::test {

class EtcdEnvironment : public ::testing::Environment {
 public:
  void SetUp() override {
    server_ = std::make_unique<EtcdCluster>();
    ASSERT_TRUE(server_->ok()) << server_->output();
  }
  void TearDown() override { server_.reset(); }
  static EtcdCluster& server() { return *server_; }

 private:
  static inline std::unique_ptr<EtcdCluster> server_;
};

// gtest owns registered environments and deletes them at exit.
inline const auto* const kEtcdEnvironment =
    ::testing::AddGlobalTestEnvironment(new EtcdEnvironment);

}  // namespace tds::test
