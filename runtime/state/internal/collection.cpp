// Storage, history ring and bookmark codec of one in-memory collection.
#include "runtime/state/internal/collection.h"

#include <algorithm>
#include <random>

namespace runtime::state::internal {
namespace {

constexpr std::size_t kCookieSize = 7;
constexpr std::size_t kBookmarkSize = kCookieSize + 8;

// The cookie's 7 bytes, as the low 56 bits.
std::uint64_t process_cookie() {
  static const std::uint64_t cookie = [] {
    std::random_device rd;
    return ((std::uint64_t{rd()} << 32) ^ std::uint64_t{rd()}) >> 8;
  }();
  return cookie;
}

void put_be(char* out, std::size_t size, std::uint64_t v) {
  for (std::size_t i = size; i-- > 0;) {
    out[i] = static_cast<char>(v & 0xff);
    v >>= 8;
  }
}

std::uint64_t get_be(const char* in, std::size_t size) {
  std::uint64_t v = 0;
  for (std::size_t i = 0; i < size; ++i) v = (v << 8) | static_cast<unsigned char>(in[i]);
  return v;
}

}  // namespace

std::string encode_bookmark(std::uint64_t position) {
  std::string out(kBookmarkSize, '\0');
  put_be(out.data(), kCookieSize, process_cookie());
  put_be(out.data() + kCookieSize, 8, position);
  return out;
}

std::optional<std::uint64_t> decode_bookmark(std::string_view bookmark) {
  if (bookmark.size() != kBookmarkSize ||
      get_be(bookmark.data(), kCookieSize) != process_cookie()) {
    return std::nullopt;
  }
  return get_be(bookmark.data() + kCookieSize, 8);
}

Collection::Collection(Kind kind, const InMemoryStateOptions& opts)
    : kind_(std::move(kind)),
      max_capacity_(opts.history_max_capacity),
      gap_(opts.history_gap),
      ring_(opts.history_initial_capacity) {}

ResourcePtr Collection::find_locked(const std::string& id) const {
  auto it = storage_.find(id);
  return it == storage_.end() ? nullptr : it->second;
}

std::vector<ResourcePtr> Collection::snapshot_locked(const ResourceFilter& filter) const {
  std::vector<ResourcePtr> out;
  out.reserve(filter.empty() ? storage_.size() : 0);
  for (const auto& [id, r] : storage_) {
    if (filter.matches(r->metadata)) out.push_back(r);
  }
  return out;
}

void Collection::apply_locked(EventType type, const std::string& id, ResourcePtr next) {
  // The ring grows only at the end of its first pass, when slot indices still equal positions.
  const std::uint64_t pos = write_pos_.load(std::memory_order_relaxed);
  if (pos == ring_.size() && ring_.size() < max_capacity_) {
    ring_.resize(std::min(ring_.size() * 2, max_capacity_));
  }
  HistoryEntry& slot = ring_[pos % ring_.size()];
  switch (type) {
    case EventType::kCreated:
      slot = HistoryEntry{type, next, nullptr};
      storage_.emplace(id, std::move(next));
      break;
    case EventType::kUpdated: {
      ResourcePtr& stored = storage_.at(id);
      slot = HistoryEntry{type, next, std::move(stored)};
      stored = std::move(next);
      break;
    }
    default: {  // kDestroyed: the event carries the last stored version
      auto it = storage_.find(id);
      slot = HistoryEntry{EventType::kDestroyed, std::move(it->second), nullptr};
      storage_.erase(it);
      break;
    }
  }
  write_pos_.store(pos + 1);
}

std::uint64_t Collection::replay_floor_locked() const {
  const std::uint64_t reach = ring_.size() - gap_;
  const std::uint64_t pos = write_pos_locked();
  return pos > reach ? pos - reach : 0;
}

HistorySlice Collection::history_locked(std::uint64_t from) const {
  HistorySlice out;
  const std::uint64_t end = write_pos_locked();
  out.reserve(end - from);
  for (std::uint64_t p = from; p < end; ++p) out.push_back(ring_[p % ring_.size()]);
  return out;
}

void Collection::notify() const {
  if (watchers.load() > 0) changed();
}

}  // namespace runtime::state::internal
