// A State API server on 127.0.0.1 over its own InMemoryState and io_context, for tests.
#pragma once

#include <grpcpp/grpcpp.h>

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <chrono>
#include <future>
#include <memory>
#include <thread>

#include "cosi/v1alpha1/state.grpc.pb.h"
#include "runtime/api/state_service.h"
#include "runtime/state/inmem_state.h"

namespace runtime::api {

namespace wire = ::cosi::resource;

// A server with its own state and io_context, torn down in the right order: gRPC first (its
// stream reactors finish on the io_context), then the io_context.
class Server {
 public:
  explicit Server(StateServiceOptions options = {}, state::InMemoryStateOptions state_options = {})
      : state_(state_options),
        work_(boost::asio::make_work_guard(io_)),
        thread_([this] { io_.run(); }) {
    service_ = make_state_service(state_, io_.get_executor(), options);
    grpc::ServerBuilder builder;
    builder.AddListeningPort("127.0.0.1:0", grpc::InsecureServerCredentials(), &port_);
    builder.RegisterService(service_.get());
    server_ = builder.BuildAndStart();
    channel_ = grpc::CreateChannel("127.0.0.1:" + std::to_string(port_),
                                   grpc::InsecureChannelCredentials());
    stub_ = wire::State::NewStub(channel_);
  }

  ~Server() {
    server_->Shutdown(std::chrono::system_clock::now() + std::chrono::seconds(5));
    // Finished streams free themselves with a task on io_: let the thread drain it.
    work_.reset();
    thread_.join();
  }

  state::InMemoryState& state() { return state_; }
  const std::shared_ptr<grpc::Channel>& channel() { return channel_; }
  wire::State::Stub& stub() { return *stub_; }

  // Holds the service's only event-loop thread until the returned promise is set, so that
  // changes made meanwhile reach the watch streams as one late batch.
  std::promise<void> pause() {
    std::promise<void> release;
    auto released = std::make_shared<std::future<void>>(release.get_future());
    std::promise<void> paused;
    auto is_paused = paused.get_future();
    boost::asio::post(io_, [released, p = std::move(paused)]() mutable {
      p.set_value();
      released->wait();
    });
    is_paused.wait();
    return release;
  }

 private:
  state::InMemoryState state_;
  boost::asio::io_context io_;
  boost::asio::executor_work_guard<boost::asio::io_context::executor_type> work_;
  std::thread thread_;
  std::unique_ptr<grpc::Service> service_;
  int port_ = 0;
  std::unique_ptr<grpc::Server> server_;
  std::shared_ptr<grpc::Channel> channel_;
  std::unique_ptr<wire::State::Stub> stub_;
};

}  // namespace runtime::api
