"""What the service says before it listens: exposure without auth or TLS, a slower decoder."""

from __future__ import annotations

import sys

from kubespan.receive.settings import ReceiverSettings, is_loopback, split_host_port


def exposure_warnings(settings: ReceiverSettings) -> list[str]:
    """A loud warning when receivers are reachable from other machines without auth or TLS.

    Auth is a token or client certificates (`--tls-client-ca`). An empty host
    (`:4317`) binds loopback, so it is not exposed. Both receivers share their auth
    and TLS settings, so one warning names every exposed receiver (it must fit the
    viewer's footer).
    """
    receivers = (("gRPC", settings.grpc), ("HTTP", settings.http))
    exposed = [f"the {name} receiver on {address}" for name, address in receivers
               if address and not is_loopback(split_host_port(address)[0])]
    if not exposed:
        return []
    subject = " and ".join(exposed) + (" is" if len(exposed) == 1 else " are")
    if not settings.client_auth:
        missing = "auth" if settings.tls else "auth or TLS"
        them = "it" if len(exposed) == 1 else "them"
        return [(f"WARNING: {subject} reachable from other machines without {missing}; "
                f"anyone who can reach {them} can send spans (use --token)")]
    if not settings.tls:
        return [(f"WARNING: {subject} reachable from other machines without TLS; the token and the spans "
                "cross the network in clear text (use --tls-cert and --tls-key)")]
    return []


def decoder_warnings() -> list[str]:
    """A note when the compiled decoder is off: everything works, ingest is slower (README, Performance)."""
    from kubespan.otlp import compiled

    if compiled.available():
        return []
    why = (f"{compiled.PURE_PYTHON_ENV} is set" if compiled.pure_python_asked()
           else "it was not built: install kubespan where a C compiler is")
    return [f"note: decoding in pure Python, so ingest is slower; the compiled decoder is off ({why})"]


def print_warnings(warnings: list[str]) -> None:
    for warning in warnings:
        print(warning, file=sys.stderr, flush=True)
