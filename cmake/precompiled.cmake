# Precompiled headers for the heavy third-party headers (gRPC, protobuf, Boost.Asio).
# Our own headers stay light; the cost of these is paid once per target.

function(tds_grpc_pch target)
  target_precompile_headers(${target} PRIVATE
    <utility>
    <grpcpp/grpcpp.h>
    <google/protobuf/message.h>)
endfunction()

# Boost 1.74's asio/awaitable.hpp uses std::exchange without including <utility>: it goes first.
function(tds_asio_pch target)
  target_precompile_headers(${target} PRIVATE
    <utility>
    <boost/asio.hpp>
    <boost/signals2.hpp>
    <google/protobuf/message.h>)
endfunction()
