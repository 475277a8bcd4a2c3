"""``passline sim serve``: run the offline model simulator until stopped."""

from __future__ import annotations

import argparse
import sys

from passline.cli._output import examples


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("sim", help="the offline OpenAI-compatible model simulator",
                       **examples("passline sim serve --port 8089"))
    ssub = p.add_subparsers(dest="sim_command", metavar="SUBCOMMAND", required=True)
    serve = ssub.add_parser(
        "serve", help="serve sim-1 and sim-2 on 127.0.0.1; prints the base URL first",
        description="Serve the simulator. The first line on stdout is the base URL to give an "
        "OpenAI client (e.g. http://127.0.0.1:PORT/v1). Stop with Ctrl-C or SIGTERM (exit 0); "
        "a second one stops it at once.",
        **examples("passline sim serve --port 8089",
                   "passline sim serve --latency-ms 200 --faults '429#2,503=0.1'"))
    serve.add_argument("--host", default="127.0.0.1", help="interface (default 127.0.0.1)")
    serve.add_argument("--port", type=int, default=0, help="port (default: a free one)")
    serve.add_argument("--latency-ms", type=float, default=0.0, help="added latency per call")
    serve.add_argument("--jitter-ms", type=float, default=0.0, help="random extra latency")
    serve.add_argument("--faults", default="", metavar="SPEC",
                       help="fault injection, e.g. '503=0.1,429#2,slow' (see docs/simulator.md)")
    serve.add_argument("--retry-after", type=float, default=1.0, metavar="S",
                       help="Retry-After seconds sent with injected 429s (default 1)")
    serve.set_defaults(func=serve_forever)


def serve_forever(args: argparse.Namespace) -> int:
    from passline.cli._signals import StopSignals
    from passline.sim.app import SimConfig
    from passline.sim.faults import FaultSpec
    from passline.sim.server import SimServer

    FaultSpec.parse(args.faults, where="--faults")  # fail before binding a port
    # the handlers go in before the URL is printed: whoever read the URL may send SIGTERM at
    # once, and it must stop the server (exit 0), not kill it half-way or go unheard
    with StopSignals() as stop:
        server = SimServer(SimConfig(latency_ms=args.latency_ms, jitter_ms=args.jitter_ms,
                                     faults=args.faults, retry_after_s=args.retry_after),
                           host=args.host, port=args.port)
        try:
            server.start()
            if not stop.stopping:
                print(server.base_url, flush=True)
                print(f"passline simulator: models sim-1, sim-2; faults={args.faults or 'none'}"
                      "; Ctrl-C to stop", file=sys.stderr, flush=True)
                stop.wait(lambda: server.running)
        finally:
            server.stop()  # bounded; a second SIGTERM/Ctrl-C meanwhile exits at once
    return 0
