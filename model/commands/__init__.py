"""One module per ``photospec`` subcommand; each defines ``register(subparsers)``."""
