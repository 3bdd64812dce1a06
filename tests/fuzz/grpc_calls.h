// Calls into gRPC callback-API service classes without a server: unary calls finish through
// gRPC's DefaultReactorTestPeer (or a stand-in call for a handler's own reactor), and server
// streams write into a stand-in stream that keeps the message in flight until the harness
// completes it. The harness plays gRPC's part (completes writes, cancels, calls OnDone once a
// call is over), and the stand-ins check the contract a reactor must keep with gRPC: one write
// at a time, nothing after Finish, Finish once.
#pragma once

#include <grpcpp/grpcpp.h>
#include <grpcpp/test/default_reactor_test_peer.h>

#include <memory>
#include <optional>
#include <utility>

#include "tests/fuzz/fuzz_input.h"

namespace fuzz {

// One unary call. The context lives as long as the call, as gRPC's does.
class UnaryCall final : public grpc::ServerCallbackUnary {
 public:
  UnaryCall()
      : peer_(&ctx_, [this](grpc::Status s) {
          check(!status_, "a unary call finishes once");
          status_ = std::move(s);
        }) {}

  grpc::CallbackServerContext* context() { return &ctx_; }

  // Takes the handler's reactor: the context's default one, or one of the handler's own.
  void bind(grpc::ServerUnaryReactor* reactor) {
    if (reactor == peer_.reactor()) return;
    own_ = reactor;
    BindReactor(reactor);
  }

  const std::optional<grpc::Status>& status() const { return status_; }

  // Ends a call of the handler's own reactor once it has finished (gRPC's OnDone).
  void done() {
    if (own_ != nullptr && status_) std::exchange(own_, nullptr)->OnDone();
  }
  // Cancels a call that has not finished (the client went away).
  void cancel() {
    if (own_ != nullptr && !status_ && !cancelled_) {
      cancelled_ = true;
      own_->OnCancel();
    }
  }
  bool over() const { return own_ == nullptr && status_.has_value(); }

 private:
  void Finish(grpc::Status s) override {
    check(!status_, "a unary call finishes once");
    status_ = std::move(s);
  }
  void SendInitialMetadata() override {}
  grpc::internal::ServerReactor* reactor() override { return own_; }
  void CallOnDone() override {}

  grpc::CallbackServerContext ctx_;
  grpc::testing::DefaultReactorTestPeer peer_;
  grpc::ServerUnaryReactor* own_ = nullptr;
  std::optional<grpc::Status> status_;
  bool cancelled_ = false;
};

// Runs a unary handler whose reactor finishes before it returns; returns its status.
template <class Handler>
grpc::Status unary(Handler&& handler) {
  UnaryCall call;
  call.bind(handler(call.context()));
  check(call.status().has_value(), "a unary handler finishes its call");
  call.done();
  return *call.status();
}

// One server-streaming call.
template <class Response>
class StreamCall final : public grpc::ServerCallbackWriter<Response> {
 public:
  grpc::CallbackServerContext* context() { return &ctx_; }

  void bind(grpc::ServerWriteReactor<Response>* reactor) {
    reactor_ = reactor;
    this->BindReactor(reactor);
  }

  // The message being written; null when no write is in flight.
  const Response* in_flight() const { return writing_ ? &message_ : nullptr; }

  // Completes the write in flight (ok: delivered; else the peer is gone). The reactor may start
  // the next write from inside OnWriteDone.
  bool complete_write(bool ok) {
    if (!writing_ || reactor_ == nullptr) return false;
    writing_ = false;
    message_ = Response();
    reactor_->OnWriteDone(ok);
    return true;
  }

  // The client cancels (at most once, and only while the call is live).
  void cancel() {
    if (reactor_ != nullptr && !cancelled_) {
      cancelled_ = true;
      reactor_->OnCancel();
    }
  }

  // gRPC's OnDone once the reactor has finished and no write is in flight. True when the call is
  // over (the reactor may have deleted itself).
  bool maybe_done() {
    if (reactor_ != nullptr && status_ && !writing_) std::exchange(reactor_, nullptr)->OnDone();
    return reactor_ == nullptr;
  }

  const std::optional<grpc::Status>& status() const { return status_; }
  std::size_t writes() const { return writes_; }

 private:
  void Finish(grpc::Status s) override {
    check(!status_, "a stream finishes once");
    status_ = std::move(s);
  }
  void SendInitialMetadata() override {}
  void Write(const Response* msg, grpc::WriteOptions) override {
    check(!writing_, "a stream writes one message at a time");
    check(!status_, "a stream writes nothing after Finish");
    message_ = *msg;
    writing_ = true;
    ++writes_;
  }
  void WriteAndFinish(const Response* msg, grpc::WriteOptions options, grpc::Status s) override {
    Write(msg, options);
    Finish(std::move(s));
  }
  grpc::internal::ServerReactor* reactor() override { return reactor_; }
  void CallOnDone() override {}

  grpc::CallbackServerContext ctx_;
  grpc::ServerWriteReactor<Response>* reactor_ = nullptr;
  Response message_;
  bool writing_ = false;
  bool cancelled_ = false;
  std::size_t writes_ = 0;
  std::optional<grpc::Status> status_;
};

}  // namespace fuzz
