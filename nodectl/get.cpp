// Resolves the type through machined's ResourceDefinitions, then lists or watches with the State
// API and hands each resource to the printer.
#include "nodectl/get.h"

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/signal_set.hpp>
#include <csignal>
#include <optional>

#include "nodectl/printer.h"
#include "nodectl/resolve.h"
#include "runtime/api/state_client.h"
#include "runtime/resource/definition.h"

namespace nodectl {

namespace state = runtime::state;
using runtime::resource::Kind;
using runtime::resource::Pointer;

namespace {

// Prints the one resource or every resource of the kind on `target`'s node; false when the one
// resource does not exist there.
bool print_from(const Target& target, const std::string& ns, const ResolvedType& type,
                const GetOptions& opts, Printer& printer, std::ostream& err) {
  auto client = runtime::api::make_state_client(channel_for(target));
  if (opts.id.empty()) {
    for (const auto& r : client->list(Kind{ns, type.type})) {
      printer.resource(target.node(), *r, state::EventType::kCreated);
    }
    return true;
  }
  auto r = client->get(Pointer{ns, type.type, opts.id});
  if (!r) {
    err << "nodectl: " << runtime::resource::not_found_message(Pointer{ns, type.type, opts.id})
        << "\n";
    return false;
  }
  printer.resource(target.node(), *r, state::EventType::kCreated);
  return true;
}

}  // namespace

int get(const std::vector<Target>& targets, const GetOptions& opts, std::ostream& out,
        std::ostream& err) {
  if (opts.watch && targets.size() > 1) {
    err << "nodectl: get -w watches one node at a time: give one with -n\n";
    return 1;
  }
  const Target& target = targets.front();
  auto printer = make_printer(parse_output(opts.output), out);
  auto client = runtime::api::make_state_client(channel_for(target));
  const auto definitions =
      client->list(Kind{std::string(runtime::resource::kMetaNamespace),
                        std::string(runtime::resource::kResourceDefinitionType)});
  const ResolvedType type = resolve_type(definitions, opts.type);
  const std::string ns = opts.ns.empty() ? type.default_namespace : opts.ns;
  printer->header(type, opts.watch);

  if (!opts.watch) {
    int exit_code = 0;
    for (const auto& t : targets) {
      try {
        if (!print_from(t, ns, type, opts, *printer, err)) exit_code = 1;
      } catch (const std::exception& e) {
        // One node's failure does not hide the others' answers; it is named.
        if (targets.size() == 1) {
          printer->flush();
          throw;
        }
        err << "nodectl: node " << t.node() << ": " << e.what() << "\n";
        exit_code = 1;
      }
    }
    printer->flush();
    return exit_code;
  }

  // Watch: rows before Bootstrapped are flushed together (aligned), then each batch on its own.
  boost::asio::io_context io;
  auto work = boost::asio::make_work_guard(io);
  bool bootstrapped = !opts.id.empty();  // a single-resource watch has no bootstrap phase
  std::optional<std::string> failure;
  // Ctrl-C (or SIGTERM) ends a watch as a success, as with talosctl. The signals get their default
  // action back at once, so a second Ctrl-C stops a shutdown that hangs.
  bool interrupted = false;
  boost::asio::signal_set signals(io, SIGINT, SIGTERM);
  signals.async_wait([&](const boost::system::error_code& ec, int) {
    if (ec) return;
    signals.clear();
    err << "Signal received, aborting, press Ctrl+C once again to abort immediately...\n";
    interrupted = true;
    work.reset(), io.stop();
  });
  auto on_batch = [&](state::WatchBatch batch) {
    for (const auto& e : batch.events) {
      switch (e.type) {
        case state::EventType::kBootstrapped:
          bootstrapped = true;
          break;
        case state::EventType::kErrored:
          failure = e.error;
          break;
        case state::EventType::kNoop:
          break;
        default:
          if (e.resource) printer->resource(target.node(), *e.resource, e.type);
      }
    }
    if (bootstrapped || failure) printer->flush();
    if (failure) work.reset(), io.stop();
  };
  std::unique_ptr<state::Watch> watch;
  if (opts.id.empty()) {
    state::WatchKindOptions wopts;
    wopts.bootstrap_contents = true;
    watch = client->watch_kind(Kind{ns, type.type}, io.get_executor(), on_batch, wopts);
  } else {
    watch = client->watch(Pointer{ns, type.type, opts.id}, io.get_executor(), on_batch);
  }
  io.run();
  watch.reset();
  if (interrupted) return 0;
  err << "nodectl: error watching resource: " << failure.value_or("stopped") << '\n';
  return 1;
}

}  // namespace nodectl
