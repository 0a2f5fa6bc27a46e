"""EventLog adapters: SQLite (embedded default), PostgreSQL and NATS JetStream, plus an in-memory one for tests."""
