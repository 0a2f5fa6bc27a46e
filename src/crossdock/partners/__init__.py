"""Trading partners over EDI: profiles, the 850 out, 855/856/810/846/850 in, 997s, SLA clocks."""
