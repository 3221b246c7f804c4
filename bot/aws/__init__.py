"""AWS adapters: IAM provisioning, clients and the `check` doctor."""
