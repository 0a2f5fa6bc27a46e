"""Event contracts: the CloudEvents envelope, the event type catalogue and the schema registry."""
