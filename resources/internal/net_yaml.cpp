// The IP messages as one YAML scalar each, through values::net.
#include "resources/internal/net_yaml.h"

#include <optional>
#include <stdexcept>
#include <string>
#include <utility>

#include "common/common.pb.h"
#include "runtime/resource/yaml_registry.h"
#include "values/net.h"

namespace resources::internal {
namespace {

using runtime::resource::MessageYamlCodec;
using runtime::resource::yaml_text;

// The text of a scalar node; empty text is the zero value and leaves the message cleared.
const std::string& scalar_text(const YAML::Node& n) {
  if (!n.IsScalar()) throw std::invalid_argument("expected a scalar");
  return n.Scalar();
}

std::invalid_argument not_a(const std::string& text, const char* what) {
  return std::invalid_argument("\"" + text + "\" is not " + what);
}

// One codec per message type: to_text never sees the zero value, parse throws what not_a says.
template <class Message, class ToText, class Parse>
void register_scalar(const char* what, ToText to_text, Parse parse) {
  runtime::resource::register_yaml_codec(
      std::string(Message::descriptor()->full_name()),
      MessageYamlCodec{
          [to_text](const google::protobuf::Message& m) {
            const auto& typed = static_cast<const Message&>(m);
            return yaml_text(typed.ip().empty() ? std::string() : to_text(typed));
          },
          [what, parse](const YAML::Node& n, google::protobuf::Message* m) {
            const auto& text = scalar_text(n);
            if (text.empty()) return;
            auto parsed = parse(text);
            if (!parsed) throw not_a(text, what);
            static_cast<Message*>(m)->CopyFrom(*parsed);
          },
      });
}

}  // namespace

void register_net_yaml_codecs() {
  register_scalar<common::NetIP>(
      "an IP address", [](const common::NetIP& m) { return values::net::ip_text(m.ip()); },
      [](const std::string& text) -> std::optional<common::NetIP> {
        auto ip = values::net::parse_ip(text);
        if (!ip) return std::nullopt;
        common::NetIP out;
        out.set_ip(std::move(*ip));
        return out;
      });
  // Go's netip.ParsePrefix needs the length; a bare address is not a prefix here.
  register_scalar<common::NetIPPrefix>(
      "an IP prefix (address/length)",
      [](const common::NetIPPrefix& m) { return values::net::text(m); },
      [](const std::string& text) -> std::optional<common::NetIPPrefix> {
        if (text.find('/') == std::string::npos) return std::nullopt;
        return values::net::parse_prefix(text);
      });
  register_scalar<common::NetIPPort>(
      "an address:port", [](const common::NetIPPort& m) { return values::net::text(m); },
      [](const std::string& text) { return values::net::parse_ip_port(text); });
}

}  // namespace resources::internal
