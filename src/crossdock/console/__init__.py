"""The operations console: a server-rendered web UI mounted at `/console` by `crossdock serve`.

Pages (each a module in `pages/`): overview, lineage, exceptions, dead letters and replays, processes, business
views, audit trail. Sign-in by username and password (users in the store, `crossdock console users`), roles
operator and approver. Like the API it reaches adapters only through ports and what the composition root hands it
(`ConsoleContext`). Importing this package imports nothing heavy: `console.app` needs the `console` extra.
"""
