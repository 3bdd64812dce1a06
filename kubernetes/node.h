// The parts of a Kubernetes Node object the discovery registry reads and writes.
#pragma once

#include <map>
#include <string>

namespace kubernetes {

struct Node {
  std::string name;
  std::string uid;
  std::string resource_version;
  std::map<std::string, std::string> labels;
  std::map<std::string, std::string> annotations;
  std::string hostname;  // the first status.addresses entry of type Hostname; empty when none
  std::string os_image;  // status.nodeInfo.osImage

  bool operator==(const Node&) const = default;
};

}  // namespace kubernetes
