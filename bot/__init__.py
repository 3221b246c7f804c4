"""aws-access-bot: approved, recorded, one-time AWS IAM access from Slack."""

__version__ = "0.1.0"
