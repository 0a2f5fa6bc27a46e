"""Electronic data interchange with trading partners; `crossdock.edi.x12` reads, checks and writes ANSI X12."""
