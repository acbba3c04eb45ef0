"""Names the dead-code check cannot see used: set for a library, or run by name from outside Python."""

from vulture.whitelist_utils import Whitelist

from kubespan.otlp.decode_pool import serve_worker

_ = Whitelist()

serve_worker  # the decode workers' `python -c` program runs it
_.type_name  # a descriptor field, read by protobuf's descriptor pool
_.intercept_service  # grpc.ServerInterceptor
_.cursor_position, _.virtual_size, _.no_wrap, _.overflow  # Textual and Rich read them
_.log_errors, _.dot_nl, _.max_mem  # re2.Options
_.highlighted, _.cursor_blink  # Textual widgets' attributes, set by tests
_.no_dns  # a pytest fixture, asked for by name for what it does
_.every  # `_wait(stop, runtime, every)`: a replacement keeps the signature
_.handle_error  # socketserver.BaseServer calls it for a request that failed
_.markup  # KubespanApp.notify keeps App.notify's signature (every notification is plain text)
_.viewport  # Widget.get_content_height(container, viewport, width) keeps Textual's signature
_.connection_lost, _.pause_writing, _.resume_writing, _.eof_received  # asyncio.Protocol callbacks (api.h2_front)
_.MetricsQueryRange, _.MetricsQueryInstant  # StreamingQuerier methods, called by grpcio
