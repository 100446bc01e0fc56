"""The `shadow-proxy` console script: parses arguments, builds the Config, and dispatches to a subcommand."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence
from typing import Any

from config import Config, ConfigError, load_config, parse_config

EXIT_OK, EXIT_FAIL, EXIT_ERROR = 0, 1, 2


def _add_upstream_flags(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--config", metavar="FILE", help="TOML configuration file")
    parser.add_argument("--legacy", metavar="URL", help="legacy upstream base URL (overrides the file)")
    parser.add_argument("--candidate", metavar="URL", help="candidate upstream base URL")
    parser.add_argument("--secondary", metavar="URL", help="second legacy instance, to learn noise")
    parser.add_argument("--listen", metavar="HOST:PORT", help="proxy address (default 0.0.0.0:8080)")
    parser.add_argument("--admin-listen", metavar="HOST:PORT", help="admin address (default 127.0.0.1:9901)")
    parser.add_argument("--store", metavar="URL", help="sqlite:///PATH (default) or postgresql://…")
    parser.add_argument("--instance-id", metavar="ID", help="this replica's id in the store (default: host)")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="shadow-proxy", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    serve = sub.add_parser("serve", help="run the proxy and its admin server")
    _add_upstream_flags(serve)

    check = sub.add_parser("check-config", help="validate a config file and print every error")
    check.add_argument("file", metavar="FILE")

    report = sub.add_parser("report", help="print the cutover report from a store")
    report.add_argument("--store", metavar="URL", default="sqlite:///shadow.db")
    report.add_argument("--config", metavar="FILE", help="config, to list configured routes and rules")
    report.add_argument("--format", choices=("md", "json", "html"), default="md")
    report.add_argument("--route", metavar="NAME", action="append", help="only this route (repeatable)")
    report.add_argument(
        "--check",
        action="store_true",
        help="exit 0 only if every judged route is READY (routes not shadowed by design are skipped "
        "unless named with --route)",
    )
    report.add_argument("--out", metavar="FILE", help="write the report to FILE instead of stdout")

    diff = sub.add_parser("diff", help="run a route's rules on two saved responses and explain the verdict")
    diff.add_argument("legacy_file", metavar="LEGACY_FILE", help="a body, or JSON {status, headers, body}")
    diff.add_argument("candidate_file", metavar="CANDIDATE_FILE")
    diff.add_argument("--config", metavar="FILE", help="config holding the route (default rules without)")
    diff.add_argument("--route", metavar="NAME", help="the route whose rules apply")
    diff.add_argument("--normalized", action="store_true", help="also print both bodies after the rules")

    recompare = sub.add_parser("recompare", help="re-run the current rules on stored divergence examples")
    recompare.add_argument("--store", metavar="URL", default="sqlite:///shadow.db")
    recompare.add_argument("--config", metavar="FILE", required=True, help="config with the current rules")
    recompare.add_argument("--route", metavar="NAME", action="append", help="only this route (repeatable)")
    recompare.add_argument("--per-signature", metavar="N", type=int, default=10, help="examples each")

    reconcile = sub.add_parser("reconcile", help="check that MongoDB and PostgreSQL hold the same data")
    reconcile.add_argument("--config", metavar="FILE", required=True, help="file with [[reconcile]] jobs")
    reconcile.add_argument("--job", metavar="NAME", action="append", help="only this job (repeatable)")
    reconcile.add_argument("--mongo-uri", metavar="URI", help="MongoDB URI for every job")
    reconcile.add_argument("--postgres-dsn", metavar="DSN", help="PostgreSQL DSN for every job")
    reconcile.add_argument("--format", choices=("md", "html", "json"), default="md")
    reconcile.add_argument("--out", metavar="FILE", help="write the report to FILE instead of stdout")
    reconcile.add_argument("--since", metavar="TIMESTAMP", help="only rows changed at or after (ISO-8601)")
    reconcile.add_argument(
        "--store", metavar="URL", help="also save each job's result there, for the cutover report"
    )
    mode = sub.add_parser("mode", help="switch a route's mode (legacy, shadow, candidate_primary, candidate)")
    mode.add_argument("route", metavar="ROUTE", nargs="?", help="a configured route's name (none: list)")
    mode.add_argument("mode", metavar="MODE", nargs="?", help="legacy, shadow, candidate_primary, candidate")
    mode.add_argument("--reason", metavar="TEXT", help="why (required to switch; kept in the audit log)")
    mode.add_argument("--admin", metavar="URL", default="http://127.0.0.1:9901", help="the admin server")
    mode.add_argument("--token", metavar="TOKEN", help="admin token (default: $SHADOW_ADMIN_TOKEN)")
    mode.add_argument("--actor", metavar="NAME", help="who switches, for the audit log (default: cli:$USER)")
    return parser


def config_from_args(args: argparse.Namespace) -> Config:
    """The file (if any) with the command-line flags laid over it."""
    overrides: dict[str, Any] = {
        "legacy": args.legacy,
        "candidate": args.candidate,
        "secondary": args.secondary,
        "listen": args.listen,
        "admin_listen": args.admin_listen,
        "store": args.store,
        "instance_id": args.instance_id,
    }
    if args.config:
        return load_config(args.config, **overrides)
    return parse_config({}, source="<command line>", **overrides)


def _serve(args: argparse.Namespace) -> int:
    from proxy.commands.serve import run_serve

    reload = (lambda: config_from_args(args)) if args.config else None
    return run_serve(config_from_args(args), reload)


def _check_config(args: argparse.Namespace) -> int:
    try:
        config = load_config(args.file)
    except ConfigError as exc:
        print(exc, file=sys.stderr)
        return EXIT_FAIL
    print(f"{args.file}: OK ({len(config.routes)} routes)")
    return EXIT_OK


def _report(args: argparse.Namespace) -> int:
    from proxy.commands.report import run_report

    config = load_config(args.config) if args.config else None
    return run_report(
        store_url=args.store,
        config=config,
        output_format=args.format,
        routes=tuple(args.route or ()),
        check=args.check,
        out=args.out,
    )


def _diff(args: argparse.Namespace) -> int:
    from proxy.commands.diff import run_diff

    config = load_config(args.config) if args.config else parse_config({"upstreams": {"legacy": "http://-"}})
    return run_diff(args.legacy_file, args.candidate_file, config, args.route, args.normalized)


def _recompare(args: argparse.Namespace) -> int:
    from proxy.commands.recompare import run_recompare

    return run_recompare(args.store, load_config(args.config), tuple(args.route or ()), args.per_signature)


def _reconcile(args: argparse.Namespace) -> int:
    from proxy.commands.reconcile import run_reconcile

    return run_reconcile(
        config_path=args.config,
        job_names=tuple(args.job or ()),
        mongo_uri=args.mongo_uri,
        postgres_dsn=args.postgres_dsn,
        output_format=args.format,
        out=args.out,
        since=args.since,
        store=args.store,
    )


def _mode(args: argparse.Namespace) -> int:
    from proxy.commands.mode import run_mode

    return run_mode(args.route, args.mode, args.reason, args.admin, args.token, args.actor)


COMMANDS: dict[str, Callable[[argparse.Namespace], int]] = {
    "serve": _serve,
    "check-config": _check_config,
    "report": _report,
    "diff": _diff,
    "recompare": _recompare,
    "reconcile": _reconcile,
    "mode": _mode,
}


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return COMMANDS[args.command](args)
    except ConfigError as exc:
        print(exc, file=sys.stderr)
        return EXIT_ERROR


if __name__ == "__main__":
    sys.exit(main())
