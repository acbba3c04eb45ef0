"""`kubespan k8s init` and `kubespan demo`: the Kubernetes workflow kubespan was born from."""

from __future__ import annotations

import argparse
import json
import os
import signal
import sys
import threading

from kubespan.cli.options import positive_float
from kubespan.k8s.exporters import DEFAULT_ENDPOINTS, PROTOCOLS
from kubespan.k8s.init import (
    DEFAULT_CLUSTER_NAME,
    DEFAULT_ENDPOINT,
    DEFAULT_K3S_VERSION,
    DEFAULT_SAMPLING,
    InitError,
    InitOptions,
    run_init,
)
from kubespan.receive.settings import is_loopback, split_host_port


def add_parsers(subparsers) -> None:
    k8s = subparsers.add_parser("k8s", help="set up tracing of a local k3d cluster")
    k8s_commands = k8s.add_subparsers(dest="k8s_command", metavar="COMMAND", required=True)
    init = k8s_commands.add_parser(
        "init",
        help="write the tracing configuration for kube-apiserver, kubelet and containerd",
        description="Write config/apiserver-tracing.yaml, config/kubelet-tracing.yaml and the containerd "
        "template, then print the k3d command that uses them and the kubespan command to run.",
    )
    init.add_argument("directory", nargs="?", default=".", help="where to write the files (default: .)")
    init.add_argument("--endpoint", default=DEFAULT_ENDPOINT,
                      help="where the cluster sends spans (default %(default)s)")
    init.add_argument("--sampling", type=int, default=DEFAULT_SAMPLING,
                      help="spans sampled per million (default %(default)s)")
    init.add_argument("--k3s-version", default=DEFAULT_K3S_VERSION, help="k3s image tag (default %(default)s)")
    init.add_argument("--cluster-name", default=DEFAULT_CLUSTER_NAME, help="k3d cluster name (default %(default)s)")
    init.add_argument("--token", default=os.environ.get("KUBESPAN_TOKEN") or None,
                      help="bearer token the cluster sends, the one kubespan requires (default: $KUBESPAN_TOKEN); "
                           "the commands printed read it from $KUBESPAN_TOKEN, so it is not printed")
    init.add_argument("--force", action="store_true", help="overwrite existing files")
    init.set_defaults(run=run_k8s_init)

    demo = subparsers.add_parser(
        "demo",
        help="send realistic Kubernetes traces to an OTLP endpoint",
        description="Simulate kube-apiserver, kubelet, containerd and etcd traces and send them over OTLP/gRPC "
        "or OTLP/HTTP. Span times follow the wall clock: each span is sent once it has ended.",
    )
    demo.add_argument("--protocol", choices=PROTOCOLS, default="grpc",
                      help="OTLP/gRPC or OTLP/HTTP with protobuf bodies (default %(default)s)")
    demo.add_argument("--endpoint", default=None,
                      help="HOST:PORT to send to (default 127.0.0.1:4317 for grpc, 127.0.0.1:4318 for http)")
    demo.add_argument("--rate", type=positive_float,
                      help="spans per second: a busier (or calmer) cluster, in real time (default: the cluster's "
                           "own pace, 15-25 spans/s)")
    demo.add_argument("--duration", type=positive_float, help="stop after SECONDS (default: until interrupted)")
    demo.add_argument("--seed", type=int, default=None,
                      help="repeat the traces of an earlier run (same ids; times are now's); default: a fresh "
                           "seed, said on stderr")
    demo.add_argument("--k8s-version", choices=["1.27", "1.36"], default="1.27",
                      help="attribute names of Kubernetes 1.27 or of the stable conventions (1.36)")
    demo.add_argument("--gzip", action="store_true", help="compress requests")
    demo.add_argument("--token", help="send 'authorization: Bearer TOKEN'")
    demo.set_defaults(run=run_demo_command)


def run_k8s_init(args: argparse.Namespace) -> int:
    try:
        options = InitOptions(
            endpoint=args.endpoint, sampling=args.sampling, k3s_version=args.k3s_version,
            cluster_name=args.cluster_name, token=args.token,
        )
        print(run_init(args.directory, options, force=args.force))
    except (InitError, FileExistsError) as exc:
        print(f"kubespan k8s init: {exc}", file=sys.stderr)
        return 2
    return 0


def run_demo_command(args: argparse.Namespace) -> int:
    from kubespan.k8s.send import fresh_seed, run_demo

    endpoint = args.endpoint or DEFAULT_ENDPOINTS[args.protocol]
    try:
        host, _ = split_host_port(endpoint.removeprefix("http://") if args.protocol == "http" else endpoint)
    except ValueError as exc:
        print(f"kubespan demo: {exc}", file=sys.stderr)
        return 2
    if not is_loopback(host):
        print(f"kubespan demo: sending to {endpoint}, which is not this machine", file=sys.stderr)
    seed = fresh_seed() if args.seed is None else args.seed
    print(f"kubespan demo: seed {seed} (--seed {seed} sends the same traces again)", file=sys.stderr, flush=True)
    stop = threading.Event()
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, lambda *_: stop.set())
    stats = run_demo(endpoint, rate=args.rate, duration=args.duration, seed=seed, k8s_version=args.k8s_version,
                     stop_event=stop, gzip=args.gzip, token=args.token, protocol=args.protocol)
    print(json.dumps(stats, separators=(",", ":")), file=sys.stderr)
    return 0 if not stats.get("errors") or stats.get("spans") else 1
