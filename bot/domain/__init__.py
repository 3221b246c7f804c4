"""Pure business rules: no I/O, no Slack, no AWS, no database."""
