"""Entry point of the ``tusk`` command: runs the click tree and turns errors into one clear line.

Exit codes (docs/cli.md): 0 success; 1 the server refused or failed the request; 2 usage error;
3 the server could not be reached; 4 the named thing was not found; 5 the awaited job or commit
ended unsuccessfully (failure, killed, unrunnable); 130 interrupted.
"""

from __future__ import annotations

import sys
import traceback

import click

from tusk import errors
from tusk.cli import (  # noqa: F401 - importing registers the commands
    datums,
    jobs,
    logs,
    metadata,
    misc,
    pfs_commits,
    pfs_files,
    pfs_repos,
    pipelines,
    projects,
    serve,
    transactions,
    worker,
)
from tusk.cli.root import cli

EXIT_FAILED = 1
EXIT_UNREACHABLE = 3
EXIT_NOT_FOUND = 4
EXIT_UNSUCCESSFUL = 5


class Unsuccessful(click.ClickException):
    """A waited-for job or commit ended in failure; the message carries the reason."""

    exit_code = EXIT_UNSUCCESSFUL


def _exit_code(err: errors.TuskError) -> int:
    if isinstance(err, errors.Unavailable):
        return EXIT_UNREACHABLE
    if isinstance(err, errors.NotFound):
        return EXIT_NOT_FOUND
    return EXIT_FAILED


def main(argv: list[str] | None = None) -> None:
    verbose = "-v" in (argv or sys.argv[1:]) or "--verbose" in (argv or sys.argv[1:])
    try:
        cli.main(args=argv, prog_name="tusk", standalone_mode=False)
    except click.exceptions.Abort:
        click.echo("interrupted", err=True)
        sys.exit(130)
    except click.ClickException as exc:
        exc.show()
        sys.exit(exc.exit_code)
    except errors.TuskError as exc:
        where = f" ({exc.code.name})" if verbose else ""
        click.echo(f"error: {exc.message}{where}", err=True)
        sys.exit(_exit_code(exc))
    except KeyboardInterrupt:
        click.echo("interrupted", err=True)
        sys.exit(130)
    except BrokenPipeError:
        sys.exit(0)
    except OSError as exc:
        click.echo(f"error: {exc}", err=True)
        if verbose:
            traceback.print_exc()
        sys.exit(EXIT_FAILED)
    except Exception as exc:  # a bug in tusk itself: still one line unless --verbose
        click.echo(f"error: unexpected {type(exc).__name__}: {exc} (run with --verbose for details)", err=True)
        if verbose:
            traceback.print_exc()
        sys.exit(EXIT_FAILED)
