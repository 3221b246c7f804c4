"""AWS side: IAM provisioning and the bot's own IAM policy."""
