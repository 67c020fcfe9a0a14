"""``python -m tusk`` runs the CLI."""

from tusk.cli import main

main()
