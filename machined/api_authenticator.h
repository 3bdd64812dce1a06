// Who calls machined's TCP API: the roles in the client certificate that the TLS handshake
// verified against the OS CA, and, behind the proxy, the roles it passes on.
#pragma once

#include <memory>

#include "runtime/api/roles.h"

namespace machined {

// The subject Organization values of the verified client certificate, as Talos reads them. A
// caller with os:impersonator (another node forwarding a request) acts with the roles its
// request names in `talos-role` metadata when it names any. No certificate: no roles.
std::shared_ptr<const runtime::api::Authenticator> make_certificate_authenticator();

// The roles the `talos-role` metadata names, for the services behind the API proxy, which only
// the proxy reaches (in process) and which sets that metadata itself on every call.
std::shared_ptr<const runtime::api::Authenticator> make_forwarded_roles_authenticator();

}  // namespace machined
