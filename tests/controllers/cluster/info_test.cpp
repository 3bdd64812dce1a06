// InfoController, as Talos's InfoController behaves.
#include "controllers/cluster/controllers.h"

#include <gtest/gtest.h>

#include "resources/cluster/cluster.h"
#include "tests/controllers/harness.h"

namespace controllers::cluster {
namespace {

namespace rc = resources::cluster;

TEST(InfoController, ClusterIdAndName) {
  testing::Harness h;
  h.add(make_info_controller());
  h.start();
  h.put_config(
      "version: v1alpha1\ncluster:\n  id: cluster1\n  secret: "
      "kCQsKr4B28VUl7qw1sVkTDNF9fFH++ViIuKsss+C6kc=\n  clusterName: foo\n  controlPlane:\n"
      "    endpoint: https://example.com/\n");
  const runtime::resource::Pointer out{"cluster", std::string(rc::kInfoType), "current"};
  auto s = h.wait_for<rc::InfoSpec>(out);
  ASSERT_TRUE(s);
  EXPECT_EQ(s->cluster_id(), "cluster1");
  EXPECT_EQ(s->cluster_name(), "foo");
  h.remove(testing::Harness::config_ptr());
  EXPECT_TRUE(h.wait_gone(out));
}

}  // namespace
}  // namespace controllers::cluster
