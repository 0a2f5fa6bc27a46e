"""Observability: traces, metrics and logs.

- `tracing`: spans at the hops that matter (API request, event consumed, process run and step, ERP and CRM calls)
  on the OpenTelemetry API, and the W3C `traceparent` a CloudEvent carries from one hop to the next.
- `export`: where finished spans go (the local `TraceKeeper` for the console, OTLP when configured); needs the SDK.
- `keeper`: the `TraceKeeper` port and its in-memory version; the SQL one is in the store.
- `meters`: this process's counters, read by `/metrics`; `ReportsCalls` for connectors' call counts and budgets.
- `logs`: JSON log lines with correlation and trace ids, secrets redacted.

A layer below `ports`: it imports only `crossdock.events`, `crossdock.model` and third parties.
"""
