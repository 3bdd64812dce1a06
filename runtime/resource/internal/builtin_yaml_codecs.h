// The message codecs the YAML codec knows without registration: COSI's ResourceDefinitionSpec.
#pragma once

#include <string>
#include <utility>
#include <vector>

#include "runtime/resource/yaml_registry.h"

namespace runtime::resource {

std::vector<std::pair<std::string, MessageYamlCodec>> builtin_yaml_codecs();

}  // namespace runtime::resource
