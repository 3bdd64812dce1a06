// Notifier and FailureLog for the background loops.
#include "kubernetes/internal/background.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <boost/asio/post.hpp>

#include "platform/log_value.h"

namespace kubernetes::internal {

Notifier::Notifier(boost::asio::any_io_executor executor, std::function<void()> callback)
    : state_(std::make_shared<State>()) {
  state_->executor = std::move(executor);
  state_->callback = std::move(callback);
}

void Notifier::notify() {
  if (state_->pending.exchange(true)) return;
  boost::asio::post(state_->executor, [state = state_] {
    state->pending = false;
    if (state->alive) state->callback();
  });
}

void Notifier::stop() { state_->alive = false; }

FailureLog::FailureLog(std::string event, std::string fields)
    : event_(std::move(event)), fields_(std::move(fields)) {}

void FailureLog::failed(const std::string& error, std::chrono::milliseconds retry_in) {
  if (failures_++ == 0) {
    spdlog::warn("{}_failing {} retry_in_ms={} error=\"{}\"", event_, fields_, retry_in.count(),
                 platform::log_value(error));
  } else {
    spdlog::debug("{}_retry_failed {} failures={} retry_in_ms={} error=\"{}\"", event_, fields_,
                  failures_, retry_in.count(), platform::log_value(error));
  }
}

void FailureLog::succeeded() {
  if (failures_ == 0) return;
  spdlog::info("{}_recovered {} failures={}", event_, fields_, failures_);
  failures_ = 0;
}

}  // namespace kubernetes::internal
