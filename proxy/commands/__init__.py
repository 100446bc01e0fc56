"""One module per `shadow-proxy` subcommand; each takes plain values, never the argparse Namespace."""
