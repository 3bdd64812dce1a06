// English plural/singular forms of resource type names ("Identities" <-> "Identity"), as
// ResourceDefinition validation and display names need them. The rules aim to agree with
// go-pluralize (which COSI uses) on real resource names, not to cover all of English.
#pragma once

#include <string>
#include <string_view>

namespace runtime::resource::inflection {

// Only the ending changes; the rest of a CamelCase word keeps its spelling.
std::string plural(std::string_view word);
std::string singular(std::string_view word);

// True when the word already is a plural: pluralizing leaves it unchanged (or it is a known
// plural / uncountable word).
bool is_plural(std::string_view word);

}  // namespace runtime::resource::inflection
