// Renders, parses and compares shared specs from several threads while the registries change, the
// way watchers and API handlers use the codec while plugins register their types.
#include <gtest/gtest.h>

#include <atomic>
#include <set>
#include <thread>
#include <vector>

#include "runtime/resource/proto_spec.h"
#include "runtime/resource/yaml_codec.h"
#include "runtime/resource/yaml_registry.h"
#include "yaml_test.pb.h"

namespace runtime::resource {
namespace {

using tds::test::Everything;

TEST(YamlCodecConcurrency, SharedSpecsWhileRegistering) {
  Everything m;
  m.set_shade(tds::test::SHADE_CONTROL_PLANE);
  m.add_tags("a");
  const auto shared = std::make_shared<const ProtoSpec>(std::make_shared<Everything>(m));
  const ProtoSpec copy(std::make_shared<Everything>(m));

  // Every rendering a reader may see while the enum text flips between two registrations.
  const std::set<std::string> allowed{"tags:\n  - a\nshade: cp\n",
                                      "tags:\n  - a\nshade: controlplane\n"};
  register_yaml_enum("tds.test.Shade", {{1, "cp"}});

  std::atomic<bool> stop{false};
  std::atomic<int> bad{0};
  std::vector<std::thread> readers;
  for (int t = 0; t < 4; ++t) {
    readers.emplace_back([&] {
      for (int i = 0; i < 2000; ++i) {
        const std::string yaml = shared->yaml();
        if (allowed.count(yaml) == 0) ++bad;
        Everything back;
        try {
          spec_from_yaml(yaml, &back);
          if (back.shade() != tds::test::SHADE_CONTROL_PLANE) ++bad;
        } catch (const std::invalid_argument&) {
          // The text may have been re-registered between rendering and parsing.
        }
        if (!shared->equals(copy) || shared->proto_bytes() != copy.proto_bytes()) ++bad;
      }
    });
  }
  std::thread writer([&] {
    for (int i = 0; !stop; ++i) {
      register_yaml_enum("tds.test.Shade", {{1, i % 2 ? "cp" : "controlplane"}});
    }
  });
  for (auto& r : readers) r.join();
  stop = true;
  writer.join();
  register_yaml_enum("tds.test.Shade", {{0, "unknown"}, {1, "controlplane"}});

  EXPECT_EQ(bad.load(), 0);
}

}  // namespace
}  // namespace runtime::resource
