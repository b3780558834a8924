"""Command line and server: ``python -m hdh_emulator.server [options]`` (``serve`` runs this).

Binds 127.0.0.1:PORT (``--port 0``: a free port), prints exactly one line
``ready http://127.0.0.1:PORT`` on stdout once the socket accepts connections, then imports and
patches moto in the background (requests arriving before that wait for it). SIGTERM and SIGINT
stop it; ``--watch-stdin`` also stops it when its standard input closes (so a test process that
dies without cleaning up does not leave an emulator behind). Its only child processes are the
short `helm template` runs of the chart proof (charts.py).
"""

from __future__ import annotations

import argparse
import os
import signal
import sys
import threading
import time

T0 = time.monotonic()


def parse_args(argv: list[str]) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="serve", description="hdh's AWS test cloud (moto + realism layer)")
    p.add_argument("--port", type=int, default=0, help="TCP port on 127.0.0.1 (0: pick a free one)")
    p.add_argument("--profile", default="realistic", help="instant, realistic or a JSON profile file")
    p.add_argument("--time-scale", type=float, default=1.0, help="multiply every profile duration (e.g. 0.003)")
    p.add_argument("--seed", type=int, default=0, help="seed for fault injection and nothing else")
    p.add_argument("--faults", default="", help="e.g. throttle=0.3,error5xx=0.05,notfound_after_create=2s")
    p.add_argument("--watch-stdin", action="store_true", help="exit when standard input reaches EOF")
    p.add_argument("--quiet-warmup", action="store_true", help=argparse.SUPPRESS)
    return p.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(sys.argv[1:] if argv is None else argv)
    from .faults import FaultSpecError, parse_spec
    from .world import WORLD, Profile, ProfileError

    try:
        profile = Profile.load(args.profile)
        parse_spec(args.faults)
        if not args.time_scale > 0:
            raise ValueError("--time-scale must be > 0")
    except (ProfileError, FaultSpecError, ValueError) as e:
        print(f"serve: {e}", file=sys.stderr)
        return 2
    WORLD.configure(profile, args.time_scale, args.seed)

    from werkzeug.serving import WSGIRequestHandler, make_server

    from .app import HdhApp

    class QuietHandler(WSGIRequestHandler):
        def log_request(self, *a: object, **k: object) -> None:
            pass

    app = HdhApp(args.faults, args.seed)
    server = make_server("127.0.0.1", args.port, app, threaded=True, request_handler=QuietHandler)
    server.daemon_threads = True
    port = server.socket.getsockname()[1]

    def stop(signum: int, frame: object) -> None:
        raise SystemExit(0)

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)

    if args.watch_stdin:

        def watch() -> None:
            try:
                while sys.stdin.buffer.read(65536):
                    pass
            except Exception:
                pass
            os.kill(os.getpid(), signal.SIGTERM)

        threading.Thread(target=watch, name="stdin-watch", daemon=True).start()

    def warm() -> None:
        try:
            app.initialise()
        except BaseException as e:
            print(f"serve: initialisation failed: {e!r}", file=sys.stderr)

    threading.Thread(target=warm, name="warm-up", daemon=True).start()
    sys.stdout.write(f"ready http://127.0.0.1:{port}\n")
    sys.stdout.flush()
    try:
        server.serve_forever(poll_interval=0.2)
    except SystemExit:
        pass
    finally:
        server.server_close()
    return 0


if __name__ == "__main__":
    code = main()
    sys.stdout.flush()
    # daemon threads (request handlers, warm-up) must not hold the exit up
    os._exit(code)
