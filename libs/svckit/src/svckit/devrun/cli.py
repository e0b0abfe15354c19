"""`python -m svckit.devrun run|status|stop`: the local platform in the foreground."""

from __future__ import annotations

import argparse
import os
import signal
import sys
import time
from contextlib import ExitStack
from pathlib import Path

from svckit.devrun.lock import RunLock
from svckit.devrun.manifest import ManifestError, load_manifest
from svckit.devrun.output import Console
from svckit.devrun.platform import Platform, PlatformError
from svckit.devrun.provision import ProvisionError, provision
from svckit.infra.server import ServerStartError

MANIFEST = "platform.toml"


def find_root(start: Path) -> Path:
    """Return the nearest directory at or above `start` holding platform.toml."""
    for d in [start, *start.parents]:
        if (d / MANIFEST).is_file():
            return d
    raise SystemExit(f"no {MANIFEST} found in {start} or above; run from the repository")


def _already_running(lock: RunLock, default_url: str) -> str:
    state = lock.read_state()
    return (f"the platform is already running (pid {state.get('pid', '?')}, "
            f"{state.get('url', default_url)})")


def _interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


def run(root: Path) -> int:
    """Start everything, block until Ctrl-C/SIGTERM or a death, then stop everything."""
    manifest = load_manifest(root / MANIFEST)
    run_dir = root / ".run"
    lock = RunLock(run_dir)
    if not lock.acquire():
        print(_already_running(lock, manifest.url), file=sys.stderr)
        return 1
    console = Console(sys.stdout)
    # Set both explicitly: a shell starting us in the background may have ignored SIGINT.
    signal.signal(signal.SIGINT, _interrupt)
    signal.signal(signal.SIGTERM, _interrupt)
    code = 0
    with ExitStack() as stack:
        stack.callback(lock.release)
        lock.write_state(pid=os.getpid(), url=manifest.url, state="starting")
        try:
            found = provision(run_dir, os.environ, console, stack)
            platform = Platform(manifest, nats_url=found.nats_url, admin_dsn=found.admin_dsn,
                                redis_url=found.redis_url, run_dir=run_dir, root=root,
                                nats_users=found.nats_users,
                                console=console)
            stack.callback(platform.stop)
            platform.start()
            lock.write_state(pid=os.getpid(), url=manifest.url, state="running",
                             processes=platform.describe(),
                             embedded={s.kind: s.pid for s in found.started})
            console.say(f"the platform is up: {manifest.url}  (API docs: {manifest.docs_url})")
            console.say("press Ctrl-C to stop it")
            code = platform.wait()
        except KeyboardInterrupt:
            console.say("stopping")
        except (PlatformError, ProvisionError, ServerStartError, ManifestError) as e:
            console.say(f"error: {e}")
            code = 1
        finally:
            # Shutdown must finish: a second Ctrl-C would otherwise leave servers behind.
            signal.signal(signal.SIGINT, signal.SIG_IGN)
            signal.signal(signal.SIGTERM, signal.SIG_IGN)
    console.say("stopped" if code == 0 else "stopped after an error")
    return code


def status(root: Path) -> int:
    """Print whether the platform runs here; exit 0 when it does, 3 when it does not."""
    lock = RunLock(root / ".run")
    if not lock.held_elsewhere():
        print("the platform is not running")
        return 3
    state = lock.read_state()
    print(f"the platform is {state.get('state', 'running')} (pid {state.get('pid', '?')}, "
          f"{state.get('url', '?')})")
    for p in state.get("processes", []):
        ops = f"ops http://127.0.0.1:{p['ops_port']}/readyz" if p["ops_port"] \
            else f"ready {p['ready']}" if p.get("ready") else "(no ops port)"
        print(f"  {p['name']:<12} pid {p['pid']:<8} {ops}")
    for kind, pid in state.get("embedded", {}).items():
        print(f"  {kind:<12} pid {pid:<8} (embedded)")
    return 0


def stop(root: Path, timeout: float = 90.0) -> int:
    """Ask the running launcher to stop and wait until it has."""
    lock = RunLock(root / ".run")
    if not lock.held_elsewhere():
        print("the platform is not running")
        return 0
    pid = lock.read_state().get("pid")
    if not isinstance(pid, int):
        print("the platform is running but its pid is unknown; stop it with Ctrl-C")
        return 1
    os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + timeout
    while lock.held_elsewhere():
        if time.monotonic() > deadline:
            print(f"the platform (pid {pid}) did not stop within {timeout:.0f}s")
            return 1
        time.sleep(0.1)
    print("the platform has stopped")
    return 0


def main(argv: list[str] | None = None) -> int:
    """Parse the command line and run the chosen command."""
    parser = argparse.ArgumentParser(prog="python -m svckit.devrun",
                                     description="Run the local platform (make run).")
    parser.add_argument("command", choices=["run", "status", "stop"])
    parser.add_argument("--root", type=Path, default=None,
                        help=f"directory holding {MANIFEST} (default: found from the cwd)")
    args = parser.parse_args(argv)
    root = (args.root or find_root(Path.cwd())).resolve()
    return {"run": run, "status": status, "stop": stop}[args.command](root)
