// One-to-many replies as Talos's apid builds them: each node's reply is a message whose field 1
// (`messages`) repeats a per-node message, whose field 1 is common.Metadata. The proxy does not
// know the reply types, so it edits the wire form.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace machined {

// `reply` with common.Metadata.hostname set to `hostname` in every element of `messages`: a
// metadata field is appended to each element, which protobuf merges into the one it may have.
// Null when `reply` is not a valid protobuf message.
std::optional<std::string> with_hostname(std::string_view reply, std::string_view hostname);

// A reply whose one element has only metadata: the node and why it did not answer, which
// Talos's clients turn into an error naming the node.
std::string error_reply(std::string_view hostname, std::string_view error);

}  // namespace machined
