// The YAML text forms of Talos's IP messages: rendering, parsing, and errors that name the field.
#include "resources/internal/net_yaml.h"

#include <google/protobuf/util/message_differencer.h>
#include <gtest/gtest.h>

#include <stdexcept>

#include "common/common.pb.h"
#include "resources/network/network.h"
#include "runtime/resource/yaml_codec.h"
#include "values/net.h"

namespace resources::internal {
namespace {

using google::protobuf::util::MessageDifferencer;
using runtime::resource::spec_from_yaml;
using runtime::resource::spec_to_yaml;

class NetYaml : public testing::Test {
 protected:
  void SetUp() override { register_net_yaml_codecs(); }
};

TEST_F(NetYaml, RendersGoTextForms) {
  EXPECT_EQ(spec_to_yaml(values::net::ip_port("10.0.0.1:51820")), "10.0.0.1:51820\n");
  // `[` starts a flow sequence: quoted.
  EXPECT_EQ(spec_to_yaml(values::net::ip_port("[fd00::1]:443")), "\"[fd00::1]:443\"\n");
  EXPECT_EQ(spec_to_yaml(values::net::prefix("fd00::1/64")), "fd00::1/64\n");
  EXPECT_EQ(spec_to_yaml(values::net::ip("fd00:0:0:1::1")), "fd00:0:0:1::1\n");
  EXPECT_EQ(spec_to_yaml(common::NetIP()), "\"\"\n");
  EXPECT_EQ(spec_to_yaml(common::NetIPPrefix()), "\"\"\n");
  EXPECT_EQ(spec_to_yaml(common::NetIPPort()), "\"\"\n");

  network::NodeAddressSpec addresses;
  *addresses.add_addresses() = values::net::prefix("10.0.0.1/8");
  *addresses.add_addresses() = values::net::prefix("fd00::1/64");
  EXPECT_EQ(spec_to_yaml(addresses), "addresses:\n  - 10.0.0.1/8\n  - fd00::1/64\n");
}

// An absent IP renders as "" like an empty one; read back it stays absent, so the spec's bytes
// survive its own YAML (the resource YAML fuzz target found the empty message appearing).
TEST_F(NetYaml, AbsentAddressesStayAbsentThroughYaml) {
  network::AddressStatusSpec spec;
  spec.set_link_name("eth0");
  *spec.mutable_local() = values::net::ip("10.0.0.1");
  network::AddressStatusSpec back;
  spec_from_yaml("address: \"\"\nlocal: 10.0.0.1\nbroadcast: \"\"\nlinkName: eth0\n", &back);
  EXPECT_FALSE(back.has_address());
  EXPECT_FALSE(back.has_broadcast());
  EXPECT_EQ(back.SerializeAsString(), spec.SerializeAsString());
}

TEST_F(NetYaml, ParsesWhatItRenders) {
  common::NetIP mapped;
  spec_from_yaml("::ffff:1.2.3.4", &mapped);
  EXPECT_EQ(mapped.ip().size(), 16u);
  EXPECT_EQ(spec_to_yaml(mapped), "::ffff:1.2.3.4\n");

  common::NetIPPort port;
  spec_from_yaml("\"[fd00::1]:443\"", &port);
  EXPECT_TRUE(MessageDifferencer::Equals(port, values::net::ip_port("[fd00::1]:443")));
  spec_from_yaml("10.0.0.1:51820", &port);
  EXPECT_TRUE(MessageDifferencer::Equals(port, values::net::ip_port("10.0.0.1:51820")));

  common::NetIPPrefix prefix;
  spec_from_yaml("10.244.0.0/16", &prefix);
  EXPECT_TRUE(MessageDifferencer::Equals(prefix, values::net::prefix("10.244.0.0/16")));
  spec_from_yaml("\"\"", &prefix);
  EXPECT_TRUE(MessageDifferencer::Equals(prefix, common::NetIPPrefix()));
}

template <class Message>
std::string error_of(const char* yaml) {
  Message m;
  try {
    spec_from_yaml(yaml, &m);
  } catch (const std::invalid_argument& e) {
    return e.what();
  }
  return "no error";
}

TEST_F(NetYaml, ErrorsNameTheFieldAndTheText) {
  EXPECT_EQ(error_of<network::NodeAddressSpec>("addresses: [10.0.0.1/8, 10.0.0.300/8]"),
            "spec.addresses[1]: \"10.0.0.300/8\" is not an IP prefix (address/length)");
  EXPECT_EQ(error_of<common::NetIP>("10.0.0.300"), "spec: \"10.0.0.300\" is not an IP address");
  EXPECT_EQ(error_of<common::NetIPPrefix>("10.0.0.0/33"),
            "spec: \"10.0.0.0/33\" is not an IP prefix (address/length)");
  EXPECT_EQ(error_of<common::NetIPPrefix>("10.0.0.0"),
            "spec: \"10.0.0.0\" is not an IP prefix (address/length)");
  EXPECT_EQ(error_of<common::NetIPPort>("'fd00::1:80'"),
            "spec: \"fd00::1:80\" is not an address:port");
  EXPECT_EQ(error_of<common::NetIPPort>("'[fd00::1]:70000'"),
            "spec: \"[fd00::1]:70000\" is not an address:port");
  EXPECT_EQ(error_of<common::NetIP>("{ip: x}"), "spec: expected a scalar");
}

}  // namespace
}  // namespace resources::internal
