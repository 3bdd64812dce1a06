// Suffix rules for English plurals, with small tables for the words the rules get wrong.
#include "runtime/resource/inflection.h"

#include <algorithm>
#include <array>
#include <optional>
#include <utility>

namespace runtime::resource::inflection {
namespace {

struct Pair {
  std::string_view singular;
  std::string_view plural;
};

// Irregular forms that also apply at the end of a compound word ("KubePeople" -> "KubePerson").
constexpr std::array<Pair, 12> kIrregularEndings{{
    {"person", "people"},
    {"child", "children"},
    {"index", "indices"},
    {"vertex", "vertices"},
    {"matrix", "matrices"},
    {"appendix", "appendices"},
    {"criterion", "criteria"},
    {"phenomenon", "phenomena"},
    {"datum", "data"},
    {"alias", "aliases"},
    {"mouse", "mice"},
    {"goose", "geese"},
}};

// Irregular forms that only apply to the whole word ("Lives" is "Life", "Olives" is not "Olife").
constexpr std::array<Pair, 29> kIrregularWords{{
    {"man", "men"},         {"woman", "women"},       {"foot", "feet"},
    {"tooth", "teeth"},     {"ox", "oxen"},           {"quiz", "quizzes"},
    {"gas", "gases"},       {"knife", "knives"},      {"wife", "wives"},
    {"life", "lives"},      {"wolf", "wolves"},       {"half", "halves"},
    {"shelf", "shelves"},   {"leaf", "leaves"},       {"thief", "thieves"},
    {"calf", "calves"},     {"loaf", "loaves"},       {"echo", "echoes"},
    {"hero", "heroes"},     {"potato", "potatoes"},   {"tomato", "tomatoes"},
    {"volcano", "volcanoes"}, {"tornado", "tornadoes"}, {"veto", "vetoes"},
    {"torpedo", "torpedoes"}, {"tie", "ties"},        {"lie", "lies"},
    {"pie", "pies"},        {"die", "dice"},
}};

// Singulars in -ie and -che whose plurals the general rules would mangle.
constexpr std::array<std::string_view, 17> kKeepEEndings{
    "movie",  "cookie", "zombie",    "calorie",   "rookie", "selfie",
    "goodie", "smoothie", "hippie", "veggie",    "cache",  "niche",
    "ache",   "avalanche", "moustache", "cliche", "psyche"};

// Words with no distinct plural: each is its own singular and plural.
constexpr std::array<std::string_view, 20> kUncountable{
    "information", "equipment", "hardware", "software", "firmware", "media",
    "series",      "species",   "news",     "sheep",    "fish",     "deer",     "aircraft",
    "traffic",     "staff",     "police",   "research", "feedback", "music",    "wildlife"};

std::string lower(std::string_view s) {
  std::string out(s);
  for (auto& c : out) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  return out;
}

bool ends_with(std::string_view s, std::string_view suffix) {
  return s.size() >= suffix.size() && s.substr(s.size() - suffix.size()) == suffix;
}

bool is_vowel(char c) { return c == 'a' || c == 'e' || c == 'i' || c == 'o' || c == 'u'; }

bool all_upper(std::string_view s) {
  return std::none_of(s.begin(), s.end(), [](char c) { return c >= 'a' && c <= 'z'; });
}

// word without its last `drop` characters, plus `add` in the case of the word's ending.
std::string replace_ending(std::string_view word, std::size_t drop, std::string_view add) {
  std::string out(word.substr(0, word.size() - drop));
  std::string tail(add);
  if (all_upper(word) && !word.empty()) {
    for (auto& c : tail) {
      if (c >= 'a' && c <= 'z') c = static_cast<char>(c - 'a' + 'A');
    }
  }
  return out + tail;
}

// Replaces the whole-word or trailing irregular `from` form by its `to` form, when one applies.
template <class Member>
bool irregular(std::string_view word, const std::string& token, Member from, Member to,
               std::string* out) {
  for (const auto& p : kIrregularWords) {
    if (token == p.*from) {
      *out = replace_ending(word, token.size(), p.*to);
      if (!word.empty() && word[0] >= 'A' && word[0] <= 'Z' && !all_upper(word)) {
        (*out)[0] = static_cast<char>((*out)[0] - 'a' + 'A');
      }
      return true;
    }
  }
  for (const auto& p : kIrregularEndings) {
    if (ends_with(token, p.*from)) {
      const std::string_view f = p.*from;
      const std::string_view t = p.*to;
      // Keep the first letter of the replaced part as written ("KubePeople" -> "KubePerson").
      std::string tail(t);
      const char first = word[word.size() - f.size()];
      if (first >= 'A' && first <= 'Z') tail[0] = static_cast<char>(tail[0] - 'a' + 'A');
      *out = replace_ending(word, f.size(), tail);
      return true;
    }
  }
  return false;
}

bool uncountable(const std::string& token) {
  return std::find(kUncountable.begin(), kUncountable.end(), token) != kUncountable.end();
}

// The form of a word exempt from the suffix rules: uncountable words stay, irregular `from`
// forms turn into their `to` forms, words already in a `to` form stay. Empty when the rules
// apply.
template <class Member>
std::optional<std::string> exempt_form(std::string_view word, const std::string& token, Member from,
                                       Member to) {
  std::string out;
  if (token.empty() || uncountable(token)) return std::string(word);
  if (irregular(word, token, from, to, &out)) return out;
  for (const auto& p : kIrregularWords) {
    if (token == p.*to) return std::string(word);
  }
  for (const auto& p : kIrregularEndings) {
    if (ends_with(token, p.*to)) return std::string(word);
  }
  return std::nullopt;
}

bool keeps_e(const std::string& token, std::string_view plural_suffix) {
  // token is a plural; does removing plural_suffix leave a known -ie/-che singular?
  const std::string_view stem = std::string_view(token).substr(0, token.size() - 1);
  return ends_with(token, plural_suffix) &&
         std::any_of(kKeepEEndings.begin(), kKeepEEndings.end(),
                     [&](std::string_view w) { return ends_with(stem, w); });
}

}  // namespace

std::string plural(std::string_view word) {
  const std::string token = lower(word);
  if (auto exempt = exempt_form(word, token, &Pair::singular, &Pair::plural)) return *exempt;

  const std::size_t n = token.size();
  const char last = token[n - 1];
  const char before = n >= 2 ? token[n - 2] : '\0';
  if (last == 's') {
    if (before == 's') return replace_ending(word, 0, "es");                  // address
    if (before == 'u' && n >= 3 && !is_vowel(token[n - 3])) {                 // status, bus
      return replace_ending(word, 0, "es");
    }
    if (ends_with(token, "sis") || ends_with(token, "xis")) {                 // analysis, axis
      return replace_ending(word, 2, "es");
    }
    return std::string(word);  // already a plural (Infos, Statuses, Ideas)
  }
  if (last == 'x' || ends_with(token, "ch") || ends_with(token, "sh") || ends_with(token, "zz")) {
    return replace_ending(word, 0, "es");
  }
  if (last == 'y' && n >= 2 && !is_vowel(before)) return replace_ending(word, 1, "ies");
  return replace_ending(word, 0, "s");
}

std::string singular(std::string_view word) {
  const std::string token = lower(word);
  if (auto exempt = exempt_form(word, token, &Pair::plural, &Pair::singular)) return *exempt;

  if (ends_with(token, "ies")) {
    if (keeps_e(token, "ies")) return replace_ending(word, 1, "");  // movies -> movie
    return replace_ending(word, 3, "y");                            // identities -> identity
  }
  if (ends_with(token, "ches") && keeps_e(token, "ches")) return replace_ending(word, 1, "");
  if (ends_with(token, "sses") || ends_with(token, "shes") || ends_with(token, "ches") ||
      ends_with(token, "xes") || ends_with(token, "zzes")) {
    return replace_ending(word, 2, "");  // addresses -> address
  }
  if (ends_with(token, "uses") && token.size() >= 5 && !is_vowel(token[token.size() - 5])) {
    return replace_ending(word, 2, "");  // statuses -> status (but houses -> house)
  }
  if (ends_with(token, "yses")) return replace_ending(word, 2, "is");  // analyses -> analysis
  if (ends_with(token, "ss") || ends_with(token, "us") || ends_with(token, "is")) {
    return std::string(word);  // already singular: address, status, analysis
  }
  if (ends_with(token, "s")) return replace_ending(word, 1, "");
  return std::string(word);
}

bool is_plural(std::string_view word) {
  const std::string token = lower(word);
  if (token.empty()) return false;
  return plural(word) == word;
}

}  // namespace runtime::resource::inflection
