"""Use cases: one per module/function, one transaction each. No Bolt, no boto3 here."""
