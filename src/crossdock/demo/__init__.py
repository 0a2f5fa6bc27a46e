"""`crossdock demo`: a distributor's day played through Crossdock, checked end to end."""
