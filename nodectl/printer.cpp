// Table, YAML and JSON printers.
#include "nodectl/printer.h"

#include <algorithm>
#include <stdexcept>
#include <string_view>
#include <utility>
#include <vector>

#include "nodectl/jsonpath.h"
#include "nodectl/value.h"
#include "runtime/resource/yaml_codec.h"

namespace nodectl {
namespace {

using runtime::resource::Resource;
using runtime::state::EventType;

std::string event_name(EventType event) {
  static constexpr std::pair<EventType, std::string_view> kNames[] = {
      {EventType::kCreated, "created"},     {EventType::kUpdated, "updated"},
      {EventType::kDestroyed, "destroyed"}, {EventType::kBootstrapped, "bootstrapped"},
      {EventType::kErrored, "errored"},     {EventType::kNoop, "noop"},
  };
  for (const auto& [known, name] : kNames) {
    if (known == event) return std::string(name);
  }
  return "unknown";
}

// A resource as talosctl's JSON and JSONPath outputs see it: its YAML form (metadata, spec) as
// untyped values, with the node and, when watching, the event.
nlohmann::json document(std::string_view node, const Resource& r, EventType event, bool watch) {
  nlohmann::json doc = yaml_to_value(runtime::resource::resource_to_yaml(r));
  doc["node"] = std::string(node);
  if (watch) doc["event"] = event_name(event);
  return doc;
}

// Display width in code points, as Go's tabwriter counts it.
std::size_t width(const std::string& s) {
  return static_cast<std::size_t>(
      std::count_if(s.begin(), s.end(), [](char c) { return (c & 0xC0) != 0x80; }));
}

// Go's text/tabwriter with padding 3: every cell but a row's last is padded to its column's
// widest cell plus 3 spaces.
class TablePrinter final : public Printer {
 public:
  explicit TablePrinter(std::ostream& out) : out_(out) {}

  void header(const ResolvedType& type, bool watch) override {
    watch_ = watch;
    display_type_ = type.display_type;
    std::vector<std::string> row{"NODE"};
    if (watch) row.emplace_back("*");
    for (const char* name : {"NAMESPACE", "TYPE", "ID", "VERSION"}) row.emplace_back(name);
    for (const auto& col : type.print_columns) {
      std::string name = col.name;
      std::transform(name.begin(), name.end(), name.begin(),
                     [](unsigned char c) { return static_cast<char>(std::toupper(c)); });
      row.push_back(std::move(name));
      columns_.push_back(JsonPath::parse(col.json_path));
    }
    rows_.push_back(std::move(row));
  }

  void resource(std::string_view node, const Resource& r, EventType event) override {
    std::vector<std::string> row{std::string(node)};
    if (watch_) {
      row.emplace_back(event == EventType::kCreated     ? "+"
                       : event == EventType::kDestroyed ? "-"
                                                        : " ");
    }
    row.push_back(r.metadata.ns);
    row.push_back(display_type_);
    row.push_back(r.metadata.id);
    row.push_back(runtime::resource::version_to_string(r.metadata.version));
    if (!columns_.empty()) {
      nlohmann::json spec;
      try {
        spec = r.spec ? yaml_to_value(r.spec->yaml()) : nlohmann::json();
      } catch (const std::invalid_argument&) {
        // A spec whose YAML does not parse shows empty columns rather than no row.
      }
      for (const auto& col : columns_) row.push_back(col.execute(spec));
    }
    rows_.push_back(std::move(row));
  }

  void flush() override {
    std::vector<std::size_t> widths;
    for (const auto& row : rows_) {
      if (widths.size() < row.size()) widths.resize(row.size(), 0);
      for (std::size_t i = 0; i + 1 < row.size(); ++i)
        widths[i] = std::max(widths[i], width(row[i]));
    }
    for (const auto& row : rows_) {
      std::string line;
      for (std::size_t i = 0; i < row.size(); ++i) {
        line += row[i];
        if (i + 1 < row.size()) line.append(widths[i] + 3 - width(row[i]), ' ');
      }
      out_ << line << '\n';
    }
    out_.flush();
    rows_.clear();
  }

 private:
  std::ostream& out_;
  bool watch_ = false;
  std::string display_type_;
  std::vector<JsonPath> columns_;
  std::vector<std::vector<std::string>> rows_;  // since the last flush
};

class YamlPrinter final : public Printer {
 public:
  explicit YamlPrinter(std::ostream& out) : out_(out) {}

  void header(const ResolvedType&, bool watch) override { watch_ = watch; }

  void resource(std::string_view node, const Resource& r, EventType event) override {
    if (need_dashes_) out_ << "---\n";
    need_dashes_ = true;
    out_ << "node: " << node << '\n';
    if (watch_) out_ << "event: " << event_name(event) << '\n';
    out_ << reindent_yaml(runtime::resource::resource_to_yaml(r));
  }

  void flush() override { out_.flush(); }

 private:
  std::ostream& out_;
  bool watch_ = false;
  bool need_dashes_ = false;
};

class JsonPrinter final : public Printer {
 public:
  explicit JsonPrinter(std::ostream& out) : out_(out) {}

  void header(const ResolvedType&, bool watch) override { watch_ = watch; }

  void resource(std::string_view node, const Resource& r, EventType event) override {
    out_ << go_json(document(node, r, event, watch_), 4) << '\n';
  }

  void flush() override { out_.flush(); }

 private:
  std::ostream& out_;
  bool watch_ = false;
};

// talosctl's -o jsonpath=: the template runs over each resource's JSON object, without missing
// keys allowed, and every result is a line of its own (literal text included); lists and maps
// print as JSON indented by 4.
class JsonPathPrinter final : public Printer {
 public:
  JsonPathPrinter(JsonPath path, std::ostream& out) : path_(std::move(path)), out_(out) {}

  void header(const ResolvedType&, bool watch) override { watch_ = watch; }

  void resource(std::string_view node, const Resource& r, EventType event) override {
    std::vector<std::vector<nlohmann::json>> results;
    try {
      results = path_.find_results(document(node, r, event, watch_), false);
    } catch (const std::runtime_error& e) {
      throw std::runtime_error(std::string("error finding result for jsonpath: ") + e.what());
    }
    for (const auto& group : results) {
      for (const auto& value : group) out_ << result_text(value, 4) << '\n';
    }
  }

  void flush() override { out_.flush(); }

 private:
  JsonPath path_;
  std::ostream& out_;
  bool watch_ = false;
};

}  // namespace

Output parse_output(std::string_view name) {
  static constexpr std::string_view kJsonPathPrefix = "jsonpath=";
  if (name == "table") return {Format::kTable};
  if (name == "yaml") return {Format::kYaml};
  if (name == "json") return {Format::kJson};
  if (name.substr(0, kJsonPathPrefix.size()) == kJsonPathPrefix) {
    return {Format::kJsonPath, std::string(name.substr(kJsonPathPrefix.size()))};
  }
  throw std::invalid_argument("output format \"" + std::string(name) +
                              "\" is not supported: use table, yaml, json or jsonpath=TEMPLATE");
}

std::unique_ptr<Printer> make_printer(const Output& output, std::ostream& out) {
  switch (output.format) {
    case Format::kYaml:
      return std::make_unique<YamlPrinter>(out);
    case Format::kJson:
      return std::make_unique<JsonPrinter>(out);
    case Format::kJsonPath:
      return std::make_unique<JsonPathPrinter>(JsonPath::parse(output.jsonpath), out);
    case Format::kTable:
      break;
  }
  return std::make_unique<TablePrinter>(out);
}

std::string reindent_yaml(std::string_view yaml) {
  // Open blocks as (column in the input, column in the output), innermost last. Our writer
  // indents every level by 2; yaml.v3 indents a map's children by 4 and continues a sequence
  // item's block at the dash + 2.
  std::vector<std::pair<std::size_t, std::size_t>> open{{0, 0}};
  std::string out;
  std::size_t pos = 0;
  while (pos < yaml.size()) {
    std::size_t end = yaml.find('\n', pos);
    if (end == std::string_view::npos) end = yaml.size();
    std::string_view line = yaml.substr(pos, end - pos);
    pos = end + 1;
    std::size_t col = line.find_first_not_of(' ');
    if (col == std::string_view::npos) {
      out += '\n';
      continue;
    }
    while (open.size() > 1 && open.back().first > col) open.pop_back();
    std::size_t out_col = open.back().second;
    if (open.back().first < col) {
      out_col += 4;
      open.emplace_back(col, out_col);
    }
    out.append(out_col, ' ');
    // Each "- " opens an inline block two columns further on, in both forms.
    std::size_t i = col;
    while (line.substr(i, 2) == "- ") {
      out += "- ";
      i += 2;
      out_col += 2;
      open.emplace_back(i, out_col);
    }
    out += line.substr(i);
    out += '\n';
  }
  return out;
}

}  // namespace nodectl
