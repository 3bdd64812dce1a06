// Fuzzer input read front to back as small fields (an op-code byte, one-byte choices, strings
// with a length byte), so that a short input is already a program of many steps and seeds can be
// written with the matching InputWriter. Reads past the end give zeros and empty strings.
#pragma once

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>

namespace fuzz {

class Input {
 public:
  Input(const std::uint8_t* data, std::size_t size)
      : data_(reinterpret_cast<const char*>(data), size) {}
  explicit Input(std::string_view data) : data_(data) {}

  bool empty() const { return pos_ >= data_.size(); }
  std::size_t remaining() const { return empty() ? 0 : data_.size() - pos_; }

  std::uint8_t u8() { return empty() ? 0 : static_cast<std::uint8_t>(data_[pos_++]); }
  std::uint16_t u16() { return static_cast<std::uint16_t>(u8() | (u8() << 8)); }
  std::uint32_t u32() { return u16() | (static_cast<std::uint32_t>(u16()) << 16); }
  std::uint64_t u64() { return u32() | (static_cast<std::uint64_t>(u32()) << 32); }
  bool flag() { return (u8() & 1) != 0; }
  // One byte mapped onto [0, n).
  std::size_t below(std::size_t n) { return n == 0 ? 0 : u8() % n; }

  // Up to n bytes; fewer at the end of the input.
  std::string bytes(std::size_t n) {
    if (n > remaining()) n = remaining();
    std::string out(data_.substr(pos_, n));
    pos_ += n;
    return out;
  }
  // A length byte, then that many bytes.
  std::string str() { return bytes(u8()); }
  // A two-byte length, then that many bytes.
  std::string str16() { return bytes(u16()); }
  std::string rest() { return bytes(remaining()); }

 private:
  std::string_view data_;
  std::size_t pos_ = 0;
};

// Writes what Input reads, for seed generators.
class InputWriter {
 public:
  InputWriter& u8(std::uint8_t v) {
    out_.push_back(static_cast<char>(v));
    return *this;
  }
  InputWriter& u16(std::uint16_t v) { return u8(v & 0xff).u8(v >> 8); }
  InputWriter& u32(std::uint32_t v) { return u16(v & 0xffff).u16(v >> 16); }
  InputWriter& u64(std::uint64_t v) { return u32(v & 0xffffffff).u32(v >> 32); }
  InputWriter& bytes(std::string_view s) {
    out_.append(s);
    return *this;
  }
  InputWriter& str(std::string_view s) {
    if (s.size() > 0xff) std::abort();
    return u8(static_cast<std::uint8_t>(s.size())).bytes(s);
  }
  InputWriter& str16(std::string_view s) {
    if (s.size() > 0xffff) std::abort();
    return u16(static_cast<std::uint16_t>(s.size())).bytes(s);
  }
  const std::string& data() const { return out_; }

 private:
  std::string out_;
};

// A broken invariant: says which and stops the process, so libFuzzer keeps the input.
[[noreturn]] inline void fail(const char* what, std::string_view detail = {}) {
  std::fprintf(stderr, "invariant violated: %s (%.*s)\n", what, static_cast<int>(detail.size()),
               detail.data());
  std::abort();
}

inline void check(bool ok, const char* what, std::string_view detail = {}) {
  if (!ok) fail(what, detail);
}

}  // namespace fuzz
