"""Slack adapter: Bolt app factory, listeners, Block Kit builders, the Slack Notifier."""
