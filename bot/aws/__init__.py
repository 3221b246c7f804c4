"""AWS adapters: IAM provisioning and checks over injected boto3 clients."""
